"""Bytes no FIX engine should send: the session is kept or closed as the FIX session
rules say, the bad message never reaches the book, and the process keeps serving."""

from __future__ import annotations

import time

import simplefix

from raw_fix_session import RawSession

SOH = b"\x01"


def order(session: RawSession, cl_ord_id: str, *, without=(), target="EXCHANGE") -> simplefix.FixMessage:
    fields = [(11, cl_ord_id), (55, "AAPL"), (54, "1"), (60, "20261122-10:00:00.000"), (38, 10), (40, "2"),
              (44, "100.00")]
    return session.message("D", *[(t, v) for t, v in fields if t not in without], target=target)


def open_orders(venue) -> list[str]:
    with venue.gateway.lock:
        return [o.client_order_id for o in venue.gateway.engine.open_orders()]


def test_a_message_with_a_bad_checksum_is_ignored_and_the_session_stays_up(venue):
    raw = RawSession(venue.port)
    raw.logon()
    data = order(raw, "BAD1").encode()
    raw.send(data[:-4] + b"000" + SOH)  # a wrong CheckSum
    raw.seq -= 1  # it was never accepted, so the next message reuses its sequence number
    assert raw.alive()
    assert open_orders(venue) == []
    raw.close()


def test_a_message_with_a_wrong_body_length_is_ignored_and_the_session_stays_up(venue):
    raw = RawSession(venue.port)
    raw.logon()
    data = order(raw, "BAD2").encode()
    start = data.index(b"9=") + 2
    end = data.index(SOH, start)
    raw.send(data[:start] + str(int(data[start:end]) + 7).encode() + data[end:])
    raw.seq -= 1
    time.sleep(0.3)
    assert open_orders(venue) == []
    raw.close()
    assert_venue_still_trades(venue)


def test_garbage_bytes_never_crash_the_venue(venue):
    raw = RawSession(venue.port)
    raw.send(b"\x00\xff\xfe hello there 8=FIX.4.4\x019=5\x0135=Z\x01garbage\x01\x01\x01" + bytes(range(256)))
    raw.receive(timeout=1)
    raw.close()
    assert_venue_still_trades(venue)


def test_a_message_missing_a_required_tag_gets_a_session_reject_naming_the_tag(venue):
    raw = RawSession(venue.port)
    raw.logon()
    raw.send(order(raw, "NOSIDE", without=(54,)).encode())
    reject = raw.receive()
    assert reject.get(35) == b"3"
    assert (reject.get(373), reject.get(371)) == (b"1", b"54")  # Required tag missing: Side
    assert raw.alive()
    assert open_orders(venue) == []
    raw.close()


def test_a_logon_from_an_unknown_comp_id_is_disconnected_without_a_reply(venue):
    raw = RawSession(venue.port, sender="NOBODY")
    raw.send(raw.message("A", (98, 0), (108, 30)).encode())
    assert raw.receive(timeout=3) is None, "an unknown CompID must not get a Logon reply"
    raw.close()
    assert_venue_still_trades(venue)


def test_a_message_for_another_target_comp_id_is_rejected_and_the_session_logged_out(venue):
    raw = RawSession(venue.port)
    raw.logon()
    raw.send(order(raw, "WRONG", target="ELSEWHERE").encode())
    replies = []
    while (reply := raw.receive(timeout=3)) is not None:
        replies.append(reply)
    types = [r.get(35) for r in replies]
    assert b"3" in types and b"5" in types, f"expected Reject then Logout, got {types}"
    assert [r for r in replies if r.get(35) == b"3"][0].get(373) == b"9"  # CompID problem
    assert open_orders(venue) == []
    raw.close()


def assert_venue_still_trades(venue) -> None:
    client = venue.client("BROKER1", "FIX.4.4")
    client.new_order(f"OK{time.monotonic_ns()}", "1", 1, "100.00")
    assert client.next("8")["150"] == "0"
