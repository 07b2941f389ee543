"""The operator's admin endpoint on a running venue: status, kill switches, halts."""

from __future__ import annotations


from pathlib import Path

import pytest

from fix_gateway.admin import admin_request


@pytest.fixture
def admin_of():
    return lambda venue: lambda command, *args: admin_request(venue.gateway._admin.path, command, list(args))


@pytest.fixture
def admin(venue, admin_of):
    return admin_of(venue)


def test_status_lists_sessions_and_instruments_with_their_best_prices(venue, admin):
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("B1", "1", 10, "189.50")
    broker.next("8")
    status = admin("status")
    assert status["ok"] and status["sessions"]["BROKER1"] == {"role": "order_entry", "logged_on": True}
    assert status["instruments"]["AAPL"] == {
        "phase": "open", "halted": False, "reason": None, "best_bid": "189.50", "best_offer": None,
        "limit_state": False, "reference_price": "190.00", "band": ["180.50", "199.50"], "pause_until_ns": None}


def test_a_firms_kill_switch_cancels_its_resting_orders_and_refuses_new_ones_until_reset(venue, admin):
    broker = venue.client("BROKER1", "FIX.4.4")
    other = venue.client("BROKER2", "FIX.4.4")
    broker.new_order("B1", "1", 10, "189.50")
    other.new_order("O1", "1", 10, "189.00")
    broker.next("8"), other.next("8")
    answer = admin("kill-switch", "set", "FIRM_A")
    assert answer == {"ok": True, "kill_switches": ["FIRM_A"], "cancelled": 1}
    cancelled = broker.next("8")
    assert (cancelled["11"], cancelled["150"]) == ("B1", "4") and "kill switch" in cancelled["58"]
    broker.new_order("B2", "1", 10, "189.50")
    refused = broker.next("8")
    assert refused["150"] == "8" and "kill switch set for firm FIRM_A" in refused["58"]
    other.new_order("O2", "1", 10, "189.10")
    assert other.next("8")["150"] == "0"  # other firms trade on
    assert admin("kill-switch", "reset", "FIRM_A")["kill_switches"] == []
    broker.new_order("B3", "1", 10, "189.50")
    assert broker.next("8")["150"] == "0"


def test_a_halt_queues_new_orders_accepts_cancels_and_reopens_through_an_auction_seen_by_subscribers(venue, admin):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("md", ["IBM"], "01")
    subscriber.next("W")
    broker = venue.client("BROKER1", "FIX.4.4")
    seller = venue.client("BROKER2", "FIX.4.4")
    broker.new_order("R1", "1", 10, "200.00", symbol="IBM")
    broker.next("8")
    assert admin("halt", "IBM") == {"ok": True, "halted": ["IBM"]}
    status = subscriber.next("f")
    assert (status["55"], status["326"]) == ("IBM", "21") and "halted by the operator" in status["58"]
    broker.new_order("R2", "1", 10, "201.00", symbol="IBM")
    assert broker.next("8")["150"] == "0", "queued for the reopening auction"
    seller.new_order("S1", "2", 15, "199.00", symbol="IBM")
    assert seller.next("8")["150"] == "0", "crosses the bids, yet nothing trades while halted"
    broker.cancel("X1", "R1", "1", symbol="IBM")
    assert broker.next("8")["150"] == "4"
    assert admin("status")["instruments"]["IBM"]["phase"] == "pre_open"
    admin("resume", "IBM")
    fill = broker.next("8")
    assert (fill["11"], fill["150"], fill["31"], fill["32"]) == ("R2", "F", "201.00", "10"), \
        "10 match anywhere from 199.00 to 201.00; IBM's reference 210.00 is above: the highest such price"
    assert seller.next("8")["31"] == "201.00"
    assert subscriber.next("f")["326"] == "3"
    broker.new_order("R3", "1", 10, "198.00", symbol="IBM")
    assert broker.next("8")["150"] == "0"


def test_a_venue_wide_halt_sends_trading_session_status_and_halts_every_instrument(venue, admin):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("md", ["AAPL"], "01")
    subscriber.next("W")
    assert admin("halt", "venue")["halted"] == ["AAPL", "GOOG", "IBM", "MSFT", "TSLA"]
    session_status = subscriber.next("h")
    assert (session_status["340"], session_status["325"]) == ("1", "Y") and "halted" in session_status["58"]
    assert subscriber.next("f")["326"] == "21"
    assert admin("resume", "venue")["halted"] == []
    assert subscriber.next("h")["340"] == "2"


def test_with_during_pause_reject_a_halt_refuses_new_orders_with_103_2_and_cancels_are_accepted(make_venue, admin_of):
    config_text = (Path(__file__).resolve().parents[2] / "config" / "exchange.yaml").read_text()
    venue = make_venue(config_text.replace("during_pause: queue", "during_pause: reject"))
    admin = admin_of(venue)
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("R1", "1", 10, "200.00", symbol="IBM")
    broker.next("8")
    admin("halt", "IBM")
    broker.new_order("R2", "1", 10, "200.00", symbol="IBM")
    refused = broker.next("8")
    assert (refused["150"], refused["103"]) == ("8", "2") and "halted by the operator" in refused["58"]
    broker.cancel("X1", "R1", "1", symbol="IBM")
    assert broker.next("8")["150"] == "4"


@pytest.mark.parametrize("args, words", [
    (("kill-switch", "set", "FIRM_Z"), "unknown firm 'FIRM_Z'"),
    (("halt", "NOPE"), "unknown symbol 'NOPE'"),
    (("explode",), "unknown command 'explode'"),
])
def test_a_bad_admin_command_gets_one_clear_error(admin, args, words):
    answer = admin(*args)
    assert answer["ok"] is False and words in answer["error"]


def test_reload_risk_applies_the_config_files_new_limits_and_a_bad_file_changes_nothing(make_venue):
    config_text = (Path(__file__).resolve().parents[2] / "config" / "exchange.yaml").read_text()
    venue = make_venue(config_text)
    config = Path(venue.settings.source)
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("I1", "1", 10, "200.00", symbol="IBM")
    assert broker.next("8")["150"] == "0"
    config.write_text(config_text.replace("    max_messages_per_second: 20000",
                                          "    max_messages_per_second: 20000\n    restricted_symbols: [IBM]"))
    reload = admin_request(venue.gateway._admin.path, "reload-risk", [])
    assert reload == {"ok": True, "reloaded": str(config)}
    broker.new_order("I2", "1", 10, "200.00", symbol="IBM")
    refused = broker.next("8")
    assert refused["150"] == "8" and "restricted list" in refused["58"]
    config.write_text(config_text.replace("max_messages_per_second: 20000", "max_messages_per_second: lots"))
    failed = admin_request(venue.gateway._admin.path, "reload-risk", [])
    assert failed["ok"] is False and "max_messages_per_second" in failed["error"]
    broker.new_order("I3", "1", 10, "200.00", symbol="IBM")
    assert broker.next("8")["150"] == "8"  # the last good limits still apply
