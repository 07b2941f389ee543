"""QuickFIX's own threads keep one Python thread state once asked to, instead of a new one per callback."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import quickfix as fix

from fix_gateway.quickfix_threads import keep_thread_state


class CountingApplication(fix.Application):
    """Counts, in a thread-local, the admin messages its QuickFIX thread has delivered so far."""

    def __init__(self, keep: bool) -> None:
        super().__init__()
        self.keep = keep
        self.local = threading.local()
        self.seen: list[int] = []  # the thread-local count each callback found

    def onCreate(self, session_id): pass
    def onLogon(self, session_id): pass
    def onLogout(self, session_id): pass
    def toAdmin(self, message, session_id): pass
    def toApp(self, message, session_id): pass
    def fromApp(self, message, session_id): pass

    def fromAdmin(self, message, session_id):
        if self.keep:
            keep_thread_state()
        count = getattr(self.local, "count", 0)
        self.seen.append(count)
        self.local.count = count + 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_file(path: Path, port: int, connection_type: str, sender: str, target: str) -> fix.SessionSettings:
    lines = ["[DEFAULT]", f"ConnectionType={connection_type}", "HeartBtInt=1", "StartTime=00:00:00",
             "EndTime=00:00:00", "UseDataDictionary=N", "ReconnectInterval=1", "[SESSION]", "BeginString=FIX.4.4",
             f"SenderCompID={sender}", f"TargetCompID={target}",
             f"SocketAcceptPort={port}" if connection_type == "acceptor" else f"SocketConnectPort={port}",
             "SocketConnectHost=127.0.0.1"]
    path.write_text("\n".join(lines) + "\n")
    return fix.SessionSettings(str(path))


def admin_counts_seen_by_the_acceptor(tmp_path: Path, keep: bool) -> list[int]:
    """Logon, then heartbeats every second: at least three admin messages on the acceptor's thread."""
    port = free_port()
    application = CountingApplication(keep)
    acceptor_settings = settings_file(tmp_path / "acceptor.cfg", port, "acceptor", "VENUE", "CLIENT")
    initiator_settings = settings_file(tmp_path / "initiator.cfg", port, "initiator", "CLIENT", "VENUE")
    acceptor = fix.SocketAcceptor(application, fix.MemoryStoreFactory(), acceptor_settings)
    client = CountingApplication(keep=False)
    initiator = fix.SocketInitiator(client, fix.MemoryStoreFactory(), initiator_settings)
    acceptor.start()
    initiator.start()
    try:
        deadline = time.monotonic() + 15
        while len(application.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        initiator.stop(True)
        acceptor.stop(True)
    assert len(application.seen) >= 3, "the session did not log on and exchange heartbeats"
    return application.seen


def test_without_keeping_each_callback_on_the_quickfix_thread_gets_a_fresh_thread_state(tmp_path: Path) -> None:
    # What the binding does by default (SWIG's PyGILState_Ensure per callback): thread-locals never survive.
    # Should a quickfix release stop doing this, keep_thread_state is no longer needed.
    assert set(admin_counts_seen_by_the_acceptor(tmp_path, keep=False)) == {0}


def test_a_kept_quickfix_thread_sees_its_thread_state_from_callback_to_callback(tmp_path: Path) -> None:
    seen = admin_counts_seen_by_the_acceptor(tmp_path, keep=True)
    assert seen == list(range(len(seen)))


def test_keeping_on_a_python_thread_changes_nothing_visible() -> None:
    keep_thread_state()
    keep_thread_state()  # once per thread: the second call only looks
    worker = threading.Thread(target=keep_thread_state)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive()
