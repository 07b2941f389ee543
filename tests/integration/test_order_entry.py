"""Order entry over FIX, driven by real QuickFIX initiators on 4.2, 4.4 and 5.0 SP2."""

import pytest

BROKERS = {"FIX.4.4": "BROKER1", "FIX.4.2": "BROKER3", "FIX.5.0SP2": "BROKER4"}


@pytest.mark.parametrize("version", list(BROKERS))
def test_a_new_limit_order_is_acknowledged_with_a_valid_execution_report(venue, version):
    client = venue.client(BROKERS[version], version)
    client.new_order("A1", "1", 100, "190.00")
    ack = client.next("8")
    assert (ack["150"], ack["39"], ack["11"], ack["55"], ack["54"]) == ("0", "0", "A1", "AAPL", "1")
    assert (ack["38"], ack["44"], ack["151"], ack["14"], ack["6"]) == ("100", "190.00", "100", "0", "0")
    assert ack["37"].isdigit() and ack["17"]
    assert ("20" in ack) == (version == "FIX.4.2"), "ExecTransType only on 4.2"


def fill_pair(venue, buyer_version="FIX.4.4", seller_version="FIX.4.4"):
    seller = venue.client("BROKER2", seller_version) if seller_version == "FIX.4.4" else None
    return seller


@pytest.mark.parametrize("version", list(BROKERS))
def test_partial_and_full_fills_report_cumulative_leaves_and_average_price_on_both_sides(venue, version):
    maker = venue.client(BROKERS[version], version)
    taker = venue.client("BROKER2", "FIX.4.4")
    maker.new_order("M1", "2", 100, "190.00")
    maker.next("8")
    taker.new_order("T1", "1", 30, "190.05")
    taker_ack, taker_fill = taker.reports(2)
    assert taker_ack["150"] == "0"
    assert (taker_fill["150"], taker_fill["39"], taker_fill["31"], taker_fill["32"]) == ("F", "2", "190.00", "30")
    assert (taker_fill["14"], taker_fill["151"], taker_fill["6"], taker_fill["851"]) == ("30", "0", "190", "2")
    partial = maker.next("8")
    assert partial["39"] == "1" and (partial["14"], partial["151"]) == ("30", "70")
    assert partial["150"] == ("1" if version == "FIX.4.2" else "F")
    if version == "FIX.5.0SP2":
        assert partial["880"] == taker_fill.get("880", partial["880"]) and partial["851"] == "1"
    taker.new_order("T2", "1", 70, "190.00")
    taker.reports(2)
    full = maker.next("8")
    assert full["39"] == "2" and (full["14"], full["151"]) == ("100", "0")
    assert full["150"] == ("2" if version == "FIX.4.2" else "F")


def test_average_price_is_exact_across_fills_at_different_prices(venue):
    seller = venue.client("BROKER2", "FIX.4.4")
    buyer = venue.client("BROKER1", "FIX.4.4")
    seller.new_order("S1", "2", 1, "190.00")
    seller.new_order("S2", "2", 2, "190.01")
    seller.reports(2)
    buyer.new_order("B1", "1", 3, "190.01")
    reports = buyer.reports(3)
    assert reports[-1]["6"] == "190.00666667" and reports[-1]["39"] == "2"


@pytest.mark.parametrize("version", list(BROKERS))
def test_an_order_is_cancelled_by_its_clordid(venue, version):
    client = venue.client(BROKERS[version], version)
    client.new_order("A1", "1", 100, "189.00")
    ack = client.next("8")
    client.cancel("C1", "A1", "1")
    cancelled = client.next("8")
    assert (cancelled["150"], cancelled["39"], cancelled["11"], cancelled["41"]) == ("4", "4", "C1", "A1")
    assert cancelled["37"] == ack["37"] and cancelled["151"] == "0"


@pytest.mark.parametrize("version", list(BROKERS))
def test_a_replace_reports_the_new_quantity_and_price_with_the_versions_status(venue, version):
    client = venue.client(BROKERS[version], version)
    client.new_order("A1", "1", 100, "189.00")
    client.next("8")
    client.replace("A2", "A1", "1", 80, "189.00")
    replaced = client.next("8")
    assert (replaced["150"], replaced["11"], replaced["41"], replaced["38"], replaced["151"]) == (
        "5", "A2", "A1", "80", "80")
    assert replaced["39"] == ("5" if version == "FIX.4.2" else "0")


def test_a_replace_that_keeps_price_and_lowers_quantity_keeps_priority_and_a_new_price_loses_it(venue):
    first = venue.client("BROKER1", "FIX.4.4")
    second = venue.client("BROKER2", "FIX.4.4")
    third = venue.client("BROKER4", "FIX.5.0SP2")
    first.new_order("A1", "1", 100, "189.00")
    first.next("8")
    second.new_order("B1", "1", 100, "189.00")
    second.next("8")
    first.replace("A2", "A1", "1", 50, "189.00")  # smaller: stays first
    first.next("8")
    third.new_order("S1", "2", 50, "189.00")
    third.reports(2)
    assert first.next("8")["150"] == "F"
    first.new_order("A3", "1", 10, "189.00")
    first.next("8")
    second.replace("B2", "B1", "1", 100, "189.01")  # new price: goes behind nothing at 189.01 but re-queued
    second.next("8")
    second.replace("B3", "B2", "1", 100, "189.00")  # back to 189.00: now behind A3
    second.next("8")
    third.new_order("S2", "2", 10, "189.00")
    third.reports(2)
    assert first.next("8")["11"] == "A3"
    assert second.nothing_more()


@pytest.mark.parametrize("version", list(BROKERS))
def test_a_status_request_reports_the_orders_state(venue, version):
    client = venue.client(BROKERS[version], version)
    client.new_order("A1", "1", 100, "189.00")
    client.next("8")
    client.status("A1", "1")
    status = client.next("8")
    assert status["39"] == "0" and status["151"] == "100"
    if version == "FIX.4.2":
        assert (status["20"], status["150"]) == ("3", "0")
    else:
        assert status["150"] == "I"


@pytest.mark.parametrize("version", ["FIX.4.4", "FIX.5.0SP2"])
def test_a_mass_cancel_cancels_the_sessions_orders_and_reports_how_many(venue, version):
    client = venue.client(BROKERS[version], version)
    for i, symbol in enumerate(("AAPL", "AAPL", "MSFT")):
        client.new_order(f"A{i}", "1", 10, "100.00", symbol=symbol)
        client.next("8")
    client.send("q", [(11, "MC1"), (530, "1"), (55, "AAPL"), (60, "20261122-10:00:00.000")])
    cancels = client.reports(2)
    assert {c["11"] for c in cancels} == {"A0", "A1"} and all(c["150"] == "4" for c in cancels)
    report = client.next("r")
    assert (report["11"], report["530"], report["531"], report["533"]) == ("MC1", "1", "1", "2")
    client.send("q", [(11, "MC2"), (530, "7"), (60, "20261122-10:00:00.000")])
    assert client.next("8")["11"] == "A2"
    assert client.next("r")["533"] == "1"


def test_an_unsupported_mass_cancel_type_is_refused_with_a_reason(venue):
    client = venue.client("BROKER1", "FIX.4.4")
    client.send("q", [(11, "MC1"), (530, "3"), (60, "20261122-10:00:00.000")])
    report = client.next("r")
    assert (report["531"], report["532"]) == ("0", "0") and "not supported" in report["58"]
