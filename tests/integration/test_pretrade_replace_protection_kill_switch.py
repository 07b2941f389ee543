"""Pre-trade risk over FIX: collared replaces, protected market orders, the kill switch on a credit breach."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from reporting.command_journal import OperatorActed, commands_file_in, read_inputs

REPO = Path(__file__).resolve().parents[2]


def config_with(defaults: str = "", firms: str = "{}") -> str:
    text = (REPO / "config" / "exchange.yaml").read_text()
    text = text.replace("    max_messages_per_second: 20000", "    max_messages_per_second: 20000" + defaults)
    return text.replace("  firms: {}", f"  firms: {firms}")


@pytest.mark.parametrize("comp_id, version, code", [
    ("BROKER3", "FIX.4.2", "2"), ("BROKER1", "FIX.4.4", "99"), ("BROKER4", "FIX.5.0SP2", "7")])
def test_a_replace_priced_through_the_collar_gets_a_cancel_reject_with_each_versions_code_and_the_collar_in_text(
        make_venue, comp_id, version, code):
    venue = make_venue(config_with('\n    price_collar_percent: "5"'))
    maker = venue.client("BROKER2", "FIX.4.4")
    broker = venue.client(comp_id, version)
    maker.new_order("ASK", "2", 100, "191.00")  # prices near AAPL's reference, 190.00, inside its price band
    maker.next("8")
    broker.new_order("BID", "1", 100, "190.00")
    assert broker.next("8")["150"] == "0"
    broker.replace("FAT", "BID", "1", 100, "200.56")  # 5% above the best offer is 200.55
    reject = broker.next("9")
    assert (reject["11"], reject["41"], reject["434"], reject["102"]) == ("FAT", "BID", "2", code)
    assert reject["58"] == ("buy price 200.56 is more than 5% above the best offer 191.00 "
                            "(collar 200.55; risk price_collar_percent)")
    broker.replace("OK", "BID", "1", 100, "190.50")
    replaced = broker.next("8")
    assert (replaced["11"], replaced["150"], replaced["44"]) == ("OK", "5", "190.50")
    with venue.gateway.lock:
        assert venue.gateway.engine.book("AAPL").best_bid() == 1_905_000  # the refused price never reached it


@pytest.mark.parametrize("comp_id, version", [("BROKER3", "FIX.4.2"), ("BROKER4", "FIX.5.0SP2")])
def test_a_replace_past_the_firms_order_and_credit_limits_is_refused_and_the_order_stays_as_it_was(
        make_venue, comp_id, version):
    firm = {"BROKER3": "FIRM_C", "BROKER4": "FIRM_D"}[comp_id]
    venue = make_venue(config_with(firms=f'{{{firm}: {{max_order_quantity: 500, credit_limit: "50000"}}}}'))
    broker = venue.client(comp_id, version)
    broker.new_order("BID", "1", 100, "190.00")  # 19,000 of 50,000 credit
    assert broker.next("8")["150"] == "0"
    broker.replace("HUGE", "BID", "1", 501, "190.00")
    reject = broker.next("9")
    assert (reject["11"], reject["41"], reject["434"], reject["102"]) == ("HUGE", "BID", "2", "2")
    assert "order quantity 501 exceeds the firm's limit of 500 (risk max_order_quantity)" in reject["58"]
    broker.replace("DEAR", "BID", "1", 300, "190.00")  # 57,000: 38,000 more on 19,000 in use
    reject = broker.next("9")
    assert (reject["11"], reject["102"]) == ("DEAR", "2")
    assert "credit: this replace's added 38,000.00 on top of 19,000.00" in reject["58"]
    broker.replace("LESS", "BID", "1", 50, "189.00")  # adds nothing: passes
    replaced = broker.next("8")
    assert (replaced["11"], replaced["150"], replaced["38"], replaced["44"]) == ("LESS", "5", "50", "189.00")
    with venue.gateway.lock:
        (order,) = venue.gateway.engine.open_orders(comp_id)
        assert (order.quantity, order.price) == (50, 1_890_000)


def test_a_market_order_stops_at_its_protection_price_and_the_rest_is_cancelled_with_a_text(make_venue):
    venue = make_venue(config_with(firms="{FIRM_A: {price_collar_ticks: 5}}"))
    maker = venue.client("BROKER2", "FIX.4.4")
    taker = venue.client("BROKER1", "FIX.4.4")
    for n, price in enumerate(("190.00", "190.05", "190.06")):
        maker.new_order(f"ASK{n}", "2", 10, price)
        maker.next("8")
    taker.new_order("MKT", "1", 30)  # protected at 190.00 + 5 ticks = 190.05
    new, first, second, cancelled = taker.reports(4)
    assert new["150"] == "0"
    assert [(r["150"], r["31"], r["32"]) for r in (first, second)] == [("F", "190.00", "10"), ("F", "190.05", "10")]
    assert (cancelled["150"], cancelled["39"], cancelled["14"], cancelled["151"]) == ("4", "4", "20", "0")
    assert "rest cancelled at its protection price" in cancelled["58"]
    with venue.gateway.lock:
        assert venue.gateway.engine.book("AAPL").best_ask() == 1_900_600  # the level beyond it is untouched


def test_a_triggered_stop_is_protected_from_its_stop_price_and_the_rest_cancelled_with_a_text(make_venue):
    venue = make_venue(config_with(firms="{FIRM_A: {price_collar_ticks: 5}}"))
    maker = venue.client("BROKER2", "FIX.4.4")
    stopper = venue.client("BROKER1", "FIX.4.4")
    taker = venue.client("BROKER4", "FIX.5.0SP2")
    stopper.new_order("STOP", "1", 30, ord_type="3", stop="190.00")  # protected at 190.00 + 5 ticks = 190.05
    assert stopper.next("8")["150"] == "0"
    for n, price in enumerate(("190.00", "190.03", "190.10")):
        maker.new_order(f"ASK{n}", "2", 10, price)
        maker.next("8")
    taker.new_order("LIFT", "1", 10, "190.00")  # the trade at 190.00 triggers the stop
    reports = [stopper.next("8") for _ in range(2)]
    while not stopper.nothing_more(0.3):
        reports.append(stopper.next("8"))
    fills = [(r["31"], r["32"]) for r in reports if r["150"] == "F"]
    assert fills == [("190.03", "10")]
    cancelled = [r for r in reports if r["150"] == "4"]
    assert len(cancelled) == 1 and cancelled[0]["151"] == "0" and "from its stop price" in cancelled[0]["58"]
    with venue.gateway.lock:
        assert venue.gateway.engine.book("AAPL").best_ask() == 1_901_000  # the level beyond it is untouched


def test_a_market_order_of_a_firm_without_a_collar_is_protected_five_percent_from_the_best_bid(make_venue):
    venue = make_venue()
    maker = venue.client("BROKER2", "FIX.4.4")
    taker = venue.client("BROKER1", "FIX.4.4")
    maker.new_order("NEAR", "1", 10, "199.00")
    maker.new_order("FAR", "1", 10, "189.00")
    maker.reports(2)
    taker.new_order("MKT", "2", 20)  # protected at 199.00 - 5% = 189.05: it may not reach 189.00
    new, fill, cancelled = taker.reports(3)
    assert (new["150"], fill["31"], fill["32"]) == ("0", "199.00", "10")
    assert (cancelled["150"], cancelled["151"]) == ("4", "0") and "protection price" in cancelled["58"]
    with venue.gateway.lock:
        assert venue.gateway.engine.book("AAPL").best_bid() == 1_890_000


def test_a_credit_breach_trips_the_kill_switch_of_a_firm_so_configured_and_cancels_its_resting_orders(
        make_venue, caplog):
    venue = make_venue(config_with(firms='{FIRM_A: {credit_limit: "10000", kill_switch_on_credit_breach: true}, '
                                         'FIRM_B: {credit_limit: "10000"}}'))
    a = venue.client("BROKER1", "FIX.4.4")
    b = venue.client("BROKER2", "FIX.4.4")
    with caplog.at_level(logging.WARNING):
        a.new_order("A1", "1", 50, "190.00")  # 9,500.00 of 10,000.00: past the 80% alert
        assert a.next("8")["150"] == "0"
        a.new_order("A2", "1", 10, "190.00")
        rejected = a.next("8")
        cancelled = a.next("8")
    assert (rejected["11"], rejected["150"], rejected["103"]) == ("A2", "8", "3")
    assert "exceeds the firm's limit of 10,000.00 (risk credit_limit)" in rejected["58"]
    assert "kill switch is now set (risk kill_switch_on_credit_breach)" in rejected["58"]
    assert (cancelled["11"], cancelled["150"]) == ("A1", "4") and "kill switch" in cancelled["58"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("credit alert: firm FIRM_A has used 9,500.00" in m for m in messages)
    assert any("firm FIRM_A breached its credit limit of 10,000 (risk credit_limit" in m for m in messages)
    a.new_order("A3", "1", 1, "100.00")
    refused = a.next("8")
    assert refused["150"] == "8" and "kill switch set for firm FIRM_A" in refused["58"]
    # Journaled as the operator's command is, so a restart keeps it set.
    acts = [e.record for e in read_inputs(commands_file_in(venue.gateway.journal_directory))
            if isinstance(e.record, OperatorActed)]
    assert [(act.action, act.target) for act in acts] == [("kill-switch-set", "FIRM_A")]
    # A firm without the setting is refused the order, and trades on.
    b.new_order("B1", "2", 60, "190.00")
    assert b.next("8")["103"] == "3"
    b.new_order("B2", "2", 10, "190.00")
    assert b.next("8")["150"] == "0"
    assert venue.gateway.admin("status", [])["kill_switches"] == ["FIRM_A"]


def test_a_possible_resend_of_an_order_the_venue_never_saw_passes_every_risk_check(make_venue):
    shipped = (Path(__file__).resolve().parents[2] / "config" / "exchange.yaml").read_text()
    venue = make_venue(shipped.replace("    max_order_quantity: 1000000", "    max_order_quantity: 100"))
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("R1", "1", 500, "189.00", extra=[(97, "Y"), (122, "20261124-10:00:00.000")])
    refused = broker.next("8")
    assert (refused["150"], refused["103"]) == ("8", "3") and "max_order_quantity" in refused["58"]
    broker.new_order("R2", "1", 50, "189.00")
    assert broker.next("8")["150"] == "0"
    broker.new_order("R2", "1", 500, "189.00", extra=[(97, "Y"), (122, "20261124-10:00:00.000")])
    status = broker.next("8")
    assert (status["150"], status["38"]) == ("I", "50"), "a resend of a known order gets its status, unchecked"
