"""Keeps quickfix 1.16's SocketAcceptor.stop() from freeing its socket server twice.

Acceptor.stop() sets the stop flag and then closes the socket server on the caller's
thread, while the acceptor's own thread, once it sees the flag and no session is
logged on, closes and deletes that same server (quickfix PR #740, unfixed in 1.16).
The acceptor thread polls with timeouts measured in process CPU time, so on a busy
process it wakes often, and the crash came about once in 40 stops in our tests.

The acceptor thread only deletes the server once no session is logged on. So just
before stopping, this in-process initiator logs on to our own acceptor and stays
logged on until `LINGER_S` after stop() began (stop() closes the server within
microseconds of setting its flag); then it drops its connection, the acceptor thread
sees the disconnect, and only then deletes the server. (Waiting for the acceptor to
send a Logout does not work: once its listening socket is closed, its poll loop
never reaches the timer that would send one.) The guard's CompID is internal, and
its Logon carries a random one-time password so nobody else can hold that session.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path

import quickfix as fix

log = logging.getLogger("fixex.gateway")

STOP_GUARD_COMP_ID = "FIXEX-STOP-GUARD"
LOGON_TIMEOUT_S = 3.0
LINGER_S = 0.1  # far longer than stop() needs to close the server after setting its flag
SOH = "\x01"


class StopGuard(fix.Application):
    def __init__(self, work_dir: Path, host: str, port: int, exchange_comp_id: str, password: str,
                 comp_id: str = STOP_GUARD_COMP_ID) -> None:
        super().__init__()
        self._password = password
        self._comp_id = comp_id
        self._logged_on = threading.Event()
        self._session_id = None
        directory = work_dir / "var" / "quickfix" / "stop-guard" / comp_id
        directory.mkdir(parents=True, exist_ok=True)
        connect_host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
        (directory / "initiator.cfg").write_text(
            "[DEFAULT]\nConnectionType=initiator\n"
            f"SocketConnectHost={connect_host}\nSocketConnectPort={port}\n"
            f"SenderCompID={comp_id}\nTargetCompID={exchange_comp_id}\n"
            "StartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\nReconnectInterval=1\n"
            f"UseDataDictionary=N\nResetOnLogon=Y\nFileStorePath={directory / 'store'}\n"
            "[SESSION]\nBeginString=FIX.4.4\n")
        # The C++ initiator keeps references to its settings and factory: they live as long as it does.
        self._settings = fix.SessionSettings(str(directory / "initiator.cfg"))
        self._store_factory = fix.FileStoreFactory(self._settings)
        self._initiator: fix.SocketInitiator | None = fix.SocketInitiator(self, self._store_factory, self._settings)

    def log_on(self) -> bool:
        """Connect and log on to our own acceptor; False (and a warning) if it does not happen in time."""
        self._initiator.start()
        if self._logged_on.wait(LOGON_TIMEOUT_S):
            return True
        log.warning("shutdown guard could not log on within %.0fs; stopping the acceptor without it",
                    LOGON_TIMEOUT_S)
        return False

    def drop_after_linger(self) -> threading.Thread:
        """Start a thread that disconnects the guard `LINGER_S` from now; call just before Acceptor.stop()."""

        def drop() -> None:
            time.sleep(LINGER_S)
            session = fix.Session.lookupSession(self._session_id) if self._session_id is not None else None
            if session is not None:
                session.disconnect()

        thread = threading.Thread(target=drop, name="fixex-stop-guard", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        if self._initiator is not None:
            self._initiator.stop(True)
            self._initiator = None
            self._store_factory = self._settings = None

    # ------------------------------------------------------------------ QuickFIX callbacks

    def onCreate(self, session_id) -> None:
        self._session_id = session_id

    def onLogon(self, session_id) -> None:
        self._logged_on.set()

    def onLogout(self, session_id) -> None:
        self._logged_on.clear()

    def toAdmin(self, message, session_id) -> None:
        if f"{SOH}35=A{SOH}" in message.toString():
            message.setField(553, self._comp_id)
            message.setField(554, self._password)

    def fromAdmin(self, message, session_id) -> None:
        pass

    def toApp(self, message, session_id) -> None:
        pass

    def fromApp(self, message, session_id) -> None:
        pass


def new_password() -> str:
    return secrets.token_urlsafe(24)
