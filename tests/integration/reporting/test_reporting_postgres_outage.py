"""Postgres goes away in the middle of a load and comes back: nothing lost, nothing doubled.

The outage is real at the socket level: the loader reaches Postgres through a TCP relay
that the test cuts (every open connection is reset, new ones are refused) and restores.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from fix_client import free_port
from reporting.journal import JournalWriter
from reporting.loader import JournalLoader
from reporting.records import message_record, session_record
from reporting.schema import audit_events, fix_messages
from reporting.verify import verify_chain
from reporting_postgres_fixtures import database_url, postgres_server, scratch_databases  # noqa: F401 (fixtures)

RECORDS = 30_000


class Relay:
    """A TCP relay to (host, port) that can be cut and restored on the same local port."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self.connections = 0

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        # shutdown() first: on Linux close() alone does not wake a thread blocked in accept() or recv().
        for sock in [listener, *sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                if self._listener is not listener:  # cut while this one was being set up: it dies too
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
                self.connections += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


def _journal(path: Path) -> None:
    with JournalWriter(path, "os") as writer:
        for n in range(RECORDS):
            if n % 3:
                writer.append(message_record("inbound", "BROKER1", n, f"8=FIX.4.4\x0135=D\x0111=c{n}\x0110=000\x01"))
            else:
                writer.append(session_record("logon", "BROKER1", "FIRM_A", n, f"logon {n}"))


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_postgres_outage_in_the_middle_of_a_load_loses_and_doubles_nothing(tmp_path: Path,
                                                                           database_url: str) -> None:
    journal = tmp_path / "audit.jsonl"
    _journal(journal)
    url = make_url(database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    through_relay = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    loader = JournalLoader(journal, through_relay, {}, batch_size=200, poll_interval=0.01, min_backoff=0.05,
                           max_backoff=0.2)
    loader.start()
    try:
        assert _wait_for(lambda: loader.loaded_seq >= 3000)
        relay.cut()  # mid-load: the batch in flight dies with its connection
        assert _wait_for(lambda: loader.last_error is not None)
        stalled_at = loader.loaded_seq
        assert stalled_at < RECORDS and loader.backlog > 0
        time.sleep(0.5)
        relay.start()
        assert _wait_for(lambda: loader.loaded_seq == RECORDS and loader.backlog == 0, timeout=120)
        assert loader.last_error is None and not loader.failed
    finally:
        loader.stop()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            events = connection.execute(select(func.count(), func.count(func.distinct(audit_events.c.journal_seq)))
                                        ).one()
            messages = connection.execute(select(func.count(), func.min(fix_messages.c.journal_seq),
                                                 func.max(fix_messages.c.journal_seq))).one()
    finally:
        engine.dispose()
    assert events == (RECORDS // 3, RECORDS // 3)
    assert messages == (RECORDS - RECORDS // 3, 2, RECORDS)  # journal_seq n + 1 for record n
    assert verify_chain(database_url).ok
    assert relay.connections >= 2  # it did reconnect
