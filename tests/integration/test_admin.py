"""The operator's admin endpoint on a running venue: status, kill switches, halts."""

from __future__ import annotations


from pathlib import Path

import pytest

from fix_gateway.admin import admin_request


@pytest.fixture
def admin(venue):
    return lambda command, *args: admin_request(venue.gateway._admin.path, command, list(args))


def test_status_lists_sessions_and_instruments_with_their_best_prices(venue, admin):
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("B1", "1", 10, "189.50")
    broker.next("8")
    status = admin("status")
    assert status["ok"] and status["sessions"]["BROKER1"] == {"role": "order_entry", "logged_on": True}
    assert status["instruments"]["AAPL"] == {"halted": False, "best_bid": "189.50", "best_offer": None}


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


def test_a_halt_refuses_new_orders_with_103_2_accepts_cancels_and_tells_subscribers(venue, admin):
    subscriber = venue.client("MDCLIENT1", "FIX.4.4")
    subscriber.subscribe("md", ["IBM"], "01")
    subscriber.next("W")
    broker = venue.client("BROKER1", "FIX.4.4")
    broker.new_order("R1", "1", 10, "200.00", symbol="IBM")
    broker.next("8")
    assert admin("halt", "IBM") == {"ok": True, "halted": ["IBM"]}
    status = subscriber.next("f")
    assert (status["55"], status["326"]) == ("IBM", "2")
    broker.new_order("R2", "1", 10, "200.00", symbol="IBM")
    refused = broker.next("8")
    assert (refused["150"], refused["103"]) == ("8", "2") and "halted" in refused["58"]
    broker.cancel("X1", "R1", "1", symbol="IBM")
    assert broker.next("8")["150"] == "4"
    admin("resume", "IBM")
    assert subscriber.next("f")["326"] == "3"
    broker.new_order("R3", "1", 10, "200.00", symbol="IBM")
    assert broker.next("8")["150"] == "0"


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
    config.write_text(config_text.replace("    max_messages_per_second: 500",
                                          "    max_messages_per_second: 500\n    restricted_symbols: [IBM]"))
    reload = admin_request(venue.gateway._admin.path, "reload-risk", [])
    assert reload == {"ok": True, "reloaded": str(config)}
    broker.new_order("I2", "1", 10, "200.00", symbol="IBM")
    refused = broker.next("8")
    assert refused["150"] == "8" and "restricted list" in refused["58"]
    config.write_text(config_text.replace("max_messages_per_second: 500", "max_messages_per_second: lots"))
    failed = admin_request(venue.gateway._admin.path, "reload-risk", [])
    assert failed["ok"] is False and "max_messages_per_second" in failed["error"]
    broker.new_order("I3", "1", 10, "200.00", symbol="IBM")
    assert broker.next("8")["150"] == "8"  # the last good limits still apply
