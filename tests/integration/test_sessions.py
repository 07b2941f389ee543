"""Session behaviour: logon checks, roles, drop copy, cancel on disconnect, resends, timers."""

import time

from fix_gateway.auth import hash_password
from conftest import REPO


def test_day_orders_are_cancelled_on_disconnect_and_the_owner_gets_the_reports_when_it_returns(make_venue):
    venue = make_venue()
    broker = venue.client("BROKER1", "FIX.4.4", reset=False, store="kept")
    broker.new_order("DAY1", "1", 10, "100.00")
    broker.new_order("GTC1", "1", 10, "99.00", tif="1")
    broker.reports(2)
    broker.stop(graceful=True)
    with venue.gateway.lock:
        assert [o.client_order_id for o in venue.gateway.engine.open_orders("BROKER1")] == ["GTC1"]
    returning = venue.client("BROKER1", "FIX.4.4", reset=False, store="kept")  # its resend request fills the gap
    cancelled = returning.next("8")
    assert (cancelled["11"], cancelled["150"]) == ("DAY1", "4") and "disconnect" in cancelled["58"]
    assert cancelled.get("43") == "Y", "delivered as a resend (PossDupFlag)"
    returning.status("GTC1", "1")
    assert returning.next("8")["39"] == "0"


def test_a_session_configured_without_cancel_on_disconnect_keeps_its_day_orders(make_venue):
    config = (REPO / "config" / "exchange.yaml").read_text().replace(
        "BROKER2: {role: order_entry, cancel_on_disconnect: true}",
        "BROKER2: {role: order_entry, cancel_on_disconnect: false}")
    venue = make_venue(config)
    broker = venue.client("BROKER2", "FIX.4.4")
    broker.new_order("DAY1", "1", 10, "100.00")
    broker.next("8")
    broker.stop(graceful=True)
    time.sleep(0.2)
    with venue.gateway.lock:
        assert [o.client_order_id for o in venue.gateway.engine.open_orders("BROKER2")] == ["DAY1"]


def test_the_drop_copy_session_receives_every_execution_report_of_every_firm(venue):
    drop = venue.client("DROPCOPY1", "FIX.4.4")
    buyer = venue.client("BROKER1", "FIX.4.4")
    seller = venue.client("BROKER4", "FIX.5.0SP2")
    buyer.new_order("B1", "1", 10, "190.00")
    buyer_ack = buyer.next("8")
    seller.new_order("S1", "2", 10, "190.00")
    seller_reports = seller.reports(2)
    copies = drop.reports(4)
    assert [(c["11"], c["150"]) for c in copies] == [("B1", "0"), ("S1", "0"), ("S1", "F"), ("B1", "F")]
    owners = [buyer_ack, *seller_reports, buyer.next("8")]
    report_fields = ("17", "37", "39", "54", "14", "151", "6", "60")
    assert [[c.get(t) for t in report_fields] for c in copies] == [[o.get(t) for t in report_fields] for o in owners]


def test_a_drop_copy_limited_to_some_firms_sees_only_theirs(make_venue):
    config = (REPO / "config" / "exchange.yaml").read_text().replace(
        "DROPCOPY1: {role: drop_copy, cancel_on_disconnect: false}",
        "DROPCOPY1: {role: drop_copy, cancel_on_disconnect: false, drop_copy_firms: [FIRM_D]}")
    venue = make_venue(config)
    drop = venue.client("DROPCOPY1", "FIX.4.4")
    venue.client("BROKER1", "FIX.4.4").new_order("A1", "1", 10, "100.00")
    venue.client("BROKER4", "FIX.5.0SP2").new_order("D1", "1", 10, "100.00")
    assert drop.next("8")["11"] == "D1"
    assert drop.nothing_more()


def test_a_password_protected_session_logs_on_with_the_right_password_only(make_venue, tmp_path):
    stored = hash_password("correct horse")
    config = (REPO / "config" / "exchange.yaml").read_text().replace(
        "BROKER1: {role: order_entry, cancel_on_disconnect: true}",
        f'BROKER1: {{role: order_entry, password_hash: "{stored}"}}')
    venue = make_venue(config)
    refused = venue.client("BROKER1", "FIX.4.4", password="wrong")
    refused.wait_until(lambda: any(m.get("35") == "5" for m in refused.admin), 10, "no Logout for a wrong password")
    logout = next(m for m in refused.admin if m.get("35") == "5")
    assert "wrong Username (553) or Password (554)" in logout["58"]
    assert not refused.logged_on
    refused.stop()
    accepted = venue.client("BROKER1", "FIX.4.4", password="correct horse")
    assert accepted.logged_on


def start_up_refusal(tmp_path, config_text: str, sessions_path=REPO / "sessions.cfg") -> str:
    """Why the order path refuses to be built from this config and sessions file."""
    from config import load_settings
    from fix_gateway.gateway import Gateway
    from fix_gateway.sessions import SessionsFileError, load_sessions
    config = tmp_path / "exchange.yaml"
    config.write_text(config_text)
    settings = load_settings(config)
    try:
        Gateway(settings, load_sessions(sessions_path, settings), work_dir=tmp_path).close_journal()
    except SessionsFileError as error:
        return str(error)
    raise AssertionError("the gateway started")


def test_a_password_on_a_fix_42_session_stops_start_up_with_a_reason(tmp_path):
    reason = start_up_refusal(tmp_path, (REPO / "config" / "exchange.yaml").read_text().replace(
        "BROKER3: {role: order_entry, cancel_on_disconnect: true}",
        f'BROKER3: {{role: order_entry, password_hash: "{hash_password("x")}"}}'))
    assert "FIX.4.2's Logon has no Username/Password" in reason


def test_a_password_on_a_fix_42_market_data_session_stops_the_order_path_from_starting_too(tmp_path):
    sessions = tmp_path / "sessions.cfg"  # MDCLIENT1 on FIX 4.2: served by the market-data process
    sessions.write_text((REPO / "sessions.cfg").read_text().replace(
        "BeginString=FIX.4.4\nTargetCompID=MDCLIENT1\nDataDictionary=FIX44.xml",
        "BeginString=FIX.4.2\nTargetCompID=MDCLIENT1\nDataDictionary=FIX42.xml"))
    reason = start_up_refusal(tmp_path, (REPO / "config" / "exchange.yaml").read_text().replace(
        "MDCLIENT1: {role: market_data, cancel_on_disconnect: false}",
        f'MDCLIENT1: {{role: market_data, password_hash: "{hash_password("x")}"}}'), sessions)
    assert "MDCLIENT1 has a password but FIX.4.2's Logon" in reason


def test_an_unsupported_message_type_gets_a_business_message_reject(venue):
    client = venue.client("BROKER1", "FIX.4.4")
    client.send("AB", [(11, "ML1"), (555, 0), (54, "1"), (60, "20261122-10:00:00.000"), (40, "2")])
    reject = client.next("j")
    assert (reject["372"], reject["380"]) == ("AB", "3")


def test_a_market_data_session_may_not_enter_orders(venue):
    client = venue.client("MDCLIENT1", "FIX.4.4")
    client.new_order("X1", "1", 10, "100.00")
    reject = client.next("j")
    assert (reject["372"], reject["380"], reject["379"]) == ("D", "6", "X1")
    assert "market data only" in reject["58"]


def test_a_possible_resend_of_a_processed_order_is_answered_with_status_not_processed_twice(venue):
    client = venue.client("BROKER1", "FIX.4.4")
    client.new_order("A1", "1", 10, "100.00")
    ack = client.next("8")
    client.new_order("A1", "1", 10, "100.00", extra=[(97, "Y"), (122, "20261122-10:00:00.000")])
    status = client.next("8")
    assert (status["150"], status["37"], status["151"]) == ("I", ack["37"], "10")
    with venue.gateway.lock:
        assert len(venue.gateway.engine.open_orders("BROKER1")) == 1


def test_a_gtd_order_expires_at_its_expire_time_through_the_timer(venue):
    client = venue.client("BROKER4", "FIX.5.0SP2")
    expire = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(time.time() + 1)) + ".500"
    client.new_order("G1", "1", 10, "100.00", tif="6", extra=[(126, expire)])
    assert client.next("8")["150"] == "0"
    expired = client.next("8", timeout=5)
    assert (expired["150"], expired["39"], expired["11"]) == ("C", "C", "G1")
