"""QuickFIX's own threads keep one Python thread state once the process asks, instead of a new one per callback.

Each case runs in a process of its own: a kept state outlives its thread, and this test leaves none
behind in the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import quickfix as fix

from fix_gateway.bench import free_port
from fix_gateway.quickfix_threads import keep_thread_state
from fix_gateway.stop_guard import LINGER_S

REPO = Path(__file__).resolve().parents[2]


class CountingApplication(fix.Application):
    """Counts, in a thread-local, the admin messages its QuickFIX thread has delivered so far."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()
        self.seen: list[int] = []  # the thread-local count each callback found

    def onCreate(self, session_id): pass
    def onLogon(self, session_id): pass
    def onLogout(self, session_id): pass
    def toAdmin(self, message, session_id): pass
    def toApp(self, message, session_id): pass
    def fromApp(self, message, session_id): pass

    def fromAdmin(self, message, session_id):
        keep_thread_state()
        count = getattr(self.local, "count", 0)
        self.seen.append(count)
        self.local.count = count + 1


def settings_file(path: Path, port: int, connection_type: str, sender: str, target: str) -> fix.SessionSettings:
    lines = ["[DEFAULT]", f"ConnectionType={connection_type}", "HeartBtInt=1", "StartTime=00:00:00",
             "EndTime=00:00:00", "UseDataDictionary=N", "ReconnectInterval=1", "[SESSION]", "BeginString=FIX.4.4",
             f"SenderCompID={sender}", f"TargetCompID={target}",
             f"SocketAcceptPort={port}" if connection_type == "acceptor" else f"SocketConnectPort={port}",
             "SocketConnectHost=127.0.0.1"]
    path.write_text("\n".join(lines) + "\n")
    return fix.SessionSettings(str(path))


def admin_counts_seen_by_the_acceptor(directory: Path) -> list[int]:
    """Logon, then heartbeats every second: at least three admin messages on the acceptor's thread."""
    port = free_port()
    application, client = CountingApplication(), CountingApplication()
    acceptor = fix.SocketAcceptor(application, fix.MemoryStoreFactory(),
                                  settings_file(directory / "acceptor.cfg", port, "acceptor", "VENUE", "CLIENT"))
    initiator = fix.SocketInitiator(client, fix.MemoryStoreFactory(),
                                    settings_file(directory / "initiator.cfg", port, "initiator", "CLIENT", "VENUE"))
    acceptor.start()
    initiator.start()
    try:
        deadline = time.monotonic() + 15
        while len(application.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        # As fix_gateway/stop_guard.py explains: a session stays logged on while the acceptor stops, or
        # quickfix 1.16 may free the acceptor's socket server twice (a segmentation fault, 1 stop in 10 here).
        dropper = threading.Timer(LINGER_S, initiator.stop, args=(True,))
        dropper.start()
        acceptor.stop(True)
        dropper.join()
    return application.seen


def seen_in_a_process_of_its_own(tmp_path: Path, keep: bool) -> list[int]:
    script = ("import json, sys\nfrom pathlib import Path\nimport test_quickfix_threads as t\n"
              + ("from fix_gateway.quickfix_threads import keep_thread_states_in_this_process\n"
                 "keep_thread_states_in_this_process()\n" if keep else "")
              + "print(json.dumps(t.admin_counts_seen_by_the_acceptor(Path(sys.argv[1]))))\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(REPO), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert len(seen) >= 3, "the session did not log on and exchange heartbeats"
    return seen


def test_by_default_each_callback_on_the_quickfix_thread_gets_a_fresh_thread_state(tmp_path: Path) -> None:
    # What the binding does (SWIG's PyGILState_Ensure per callback): thread-locals never survive a callback.
    # Should a quickfix release stop doing this, keeping thread states is no longer needed.
    assert set(seen_in_a_process_of_its_own(tmp_path, keep=False)) == {0}


def test_a_process_that_keeps_thread_states_sees_one_from_callback_to_callback(tmp_path: Path) -> None:
    seen = seen_in_a_process_of_its_own(tmp_path, keep=True)
    assert seen == list(range(len(seen)))


def test_keeping_on_a_python_thread_changes_nothing_visible() -> None:
    script = ("import threading\nfrom fix_gateway.quickfix_threads import *\n"
              "keep_thread_states_in_this_process()\nkeep_thread_state()\nkeep_thread_state()\n"
              "worker = threading.Thread(target=keep_thread_state)\nworker.start()\nworker.join(5)\n"
              "print('alive' if worker.is_alive() else 'done')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr
