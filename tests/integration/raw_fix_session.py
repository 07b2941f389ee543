"""A hand-driven FIX 4.4 connection for tests that need bytes no FIX engine would send."""

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
