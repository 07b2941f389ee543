"""Bytes no FIX engine should send: the session is kept or closed as the FIX session
rules say, the bad message never reaches the book, and the process keeps serving."""

from __future__ import annotations

import socket
import time

import simplefix

SOH = b"\x01"


class RawSession:
    """A hand-driven FIX 4.4 connection: we choose every byte."""

    def __init__(self, port: int, sender: str = "BROKER2") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.parser = simplefix.FixParser()
        self.sender = sender
        self.seq = 1

    def message(self, msg_type: str, *fields: tuple[int, object], seq: int | None = None,
                target: str = "EXCHANGE") -> simplefix.FixMessage:
        message = simplefix.FixMessage()
        message.append_pair(8, "FIX.4.4", header=True)
        message.append_pair(35, msg_type, header=True)
        message.append_pair(49, self.sender, header=True)
        message.append_pair(56, target, header=True)
        message.append_pair(34, self.seq if seq is None else seq, header=True)
        message.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in fields:
            message.append_pair(tag, value)
        if seq is None:
            self.seq += 1
        return message

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def logon(self) -> simplefix.FixMessage:
        self.send(self.message("A", (98, 0), (108, 30), (141, "Y")).encode())
        reply = self.receive()
        assert reply is not None and reply.get(35) == b"A", f"no Logon reply: {reply}"
        return reply

    def receive(self, timeout: float = 3.0) -> simplefix.FixMessage | None:
        """The next message, or None if the connection closed or nothing came in time."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.parser.get_message()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return None
            if not data:
                return None
            self.parser.append_buffer(data)

    def alive(self) -> bool:
        """Does the session still answer a TestRequest?"""
        self.send(self.message("1", (112, "PING")).encode())
        while (reply := self.receive()) is not None:
            if reply.get(35) == b"0" and reply.get(112) == b"PING":
                return True
        return False

    def close(self) -> None:
        self.sock.close()


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
