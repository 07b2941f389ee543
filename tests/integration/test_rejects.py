"""Every reject case over FIX, with the reason code each version's dictionary allows."""

import pytest

BROKERS = {"FIX.4.4": "BROKER1", "FIX.4.2": "BROKER3", "FIX.5.0SP2": "BROKER4"}
# case: (send the order, expected 103 per version, words in Text)
CASES = {
    "unknown symbol": (dict(symbol="ZZZZ", price="10.00"), {"FIX.4.2": "1", "FIX.4.4": "1", "FIX.5.0SP2": "1"},
                       "unknown symbol 'ZZZZ'"),
    "exceeds limit": (dict(quantity=2_000_000, price="1.00"), {"FIX.4.2": "3", "FIX.4.4": "3", "FIX.5.0SP2": "3"},
                      "max_order_quantity"),
    "incorrect quantity": (dict(quantity="10.5", price="190.00"),
                           {"FIX.4.2": "0", "FIX.4.4": "13", "FIX.5.0SP2": "13"}, "whole number"),
    "price off the tick": (dict(price="190.001"), {"FIX.4.2": "0", "FIX.4.4": "99", "FIX.5.0SP2": "18"},
                           "not a multiple of the tick 0.01"),
    "limit without a price": (dict(ord_type="2"), {"FIX.4.2": "0", "FIX.4.4": "99", "FIX.5.0SP2": "99"},
                              "needs a price"),
    "unsupported order type": (dict(ord_type="P", price="190.00"),
                               {"FIX.4.2": "0", "FIX.4.4": "11", "FIX.5.0SP2": "11"}, "OrdType P is not supported"),
    "expire time in the past": (dict(price="190.00", tif="6", extra=[(126, "20200101-00:00:00")]),
                                {"FIX.4.2": "4", "FIX.4.4": "4", "FIX.5.0SP2": "4"}, "already passed"),
}


@pytest.mark.parametrize("version", list(BROKERS))
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_order_is_rejected_with_the_versions_reason_code_and_a_readable_text(venue, version, case):
    order, codes, words = CASES[case]  # OrdType P (pegged) is in every version's dictionary; we do not trade it
    client = venue.client(BROKERS[version], version)
    client.new_order("R1", "1", order.get("quantity", 100), order.get("price"), symbol=order.get("symbol", "AAPL"),
                     ord_type=order.get("ord_type"), tif=order.get("tif"), extra=order.get("extra", ()))
    reject = client.next("8")
    assert (reject["150"], reject["39"], reject["11"], reject["37"]) == ("8", "8", "R1", "NONE")
    assert reject["103"] == codes[version], reject.get("58")
    assert words in reject["58"]


@pytest.mark.parametrize("version", list(BROKERS))
def test_a_reused_clordid_is_rejected_as_a_duplicate(venue, version):
    client = venue.client(BROKERS[version], version)
    client.new_order("D1", "1", 10, "100.00")
    client.next("8")
    client.new_order("D1", "1", 10, "100.00")
    reject = client.next("8")
    assert (reject["150"], reject["103"]) == ("8", "6") and "already used" in reject["58"]


@pytest.mark.parametrize("version", list(BROKERS))
def test_a_status_request_for_an_unknown_order_is_answered_rejected_unknown(venue, version):
    client = venue.client(BROKERS[version], version)
    client.status("NOPE", "1")
    reply = client.next("8")
    assert (reply["39"], reply["103"], reply["11"]) == ("8", "5", "NOPE")


@pytest.mark.parametrize("version", list(BROKERS))
def test_cancelling_an_unknown_order_is_refused_as_unknown(venue, version):
    client = venue.client(BROKERS[version], version)
    client.cancel("C1", "NOPE", "1")
    reject = client.next("9")
    assert (reject["102"], reject["434"], reject["39"], reject["11"], reject["41"]) == ("1", "1", "8", "C1", "NOPE")
    assert reject["58"] == "unknown order"


@pytest.mark.parametrize("version", list(BROKERS))
def test_cancelling_a_filled_order_is_refused_as_too_late(venue, version):
    client = venue.client(BROKERS[version], version)
    other = venue.client("BROKER2", "FIX.4.4")
    client.new_order("A1", "1", 10, "190.00")
    client.next("8")
    other.new_order("S1", "2", 10, "190.00")
    client.next("8")
    client.cancel("C1", "A1", "1")
    reject = client.next("9")
    assert (reject["102"], reject["39"]) == ("0", "2") and "already filled" in reject["58"]


def test_another_firms_order_cannot_be_cancelled_replaced_or_queried(venue):
    owner = venue.client("BROKER1", "FIX.4.4")
    stranger = venue.client("BROKER2", "FIX.4.4")
    owner.new_order("A1", "1", 10, "100.00")
    order_id = owner.next("8")["37"]
    stranger.cancel("X1", "A1", "1", order_id=order_id)  # OrigClOrdID is required in 4.4
    assert stranger.next("9")["102"] == "1"
    stranger.replace("X2", "A1", "1", 5, "100.00", extra=[(37, order_id)])
    assert stranger.next("9")["102"] == "1"
    stranger.status("A1", "1", order_id=order_id)
    assert stranger.next("8")["39"] == "8"
    owner.status("A1", "1")
    assert owner.next("8")["39"] == "0", "the order is untouched"


def test_a_replace_that_changes_the_side_is_refused_with_a_reason(venue):
    client = venue.client("BROKER4", "FIX.5.0SP2")
    client.new_order("A1", "1", 10, "100.00")
    client.next("8")
    client.replace("A2", "A1", "2", 10, "100.00")
    reject = client.next("9")
    assert (reject["434"], reject["102"]) == ("2", "99") and "cannot change the side" in reject["58"]
