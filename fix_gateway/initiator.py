"""A small QuickFIX initiator for the venue's own client tools (`fixex demo`, `fixex watch`).

It connects as one of the counterparties in sessions.cfg, with that session's FIX
version and the data dictionary the quickfix package ships for it, so every
message it receives is validated as a strict counterparty would. A message the
venue sends that the dictionary rejects shows up in `rejects_sent`.

Threading: QuickFIX calls `on_message` on its own thread while holding the
session's lock. Never call `send` while holding a lock that `on_message` also
takes: the two threads would wait for each other.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import quickfix as fix

from config import Settings
from fix_gateway.sessions import load_sessions

log = logging.getLogger("fixex.initiator")
SOH = "\x01"


class InitiatorError(Exception):
    """The session could not be used (no venue listening, logon refused): one line for the user."""


@dataclass(frozen=True, slots=True)
class SessionVersion:
    """How one counterparty of sessions.cfg speaks: FIX.4.2, FIX.4.4 or FIXT.1.1 with an application version."""

    comp_id: str
    begin_string: str
    appl_ver_id: str | None = None

    @property
    def version(self) -> str:
        return self.appl_ver_id or self.begin_string


def session_versions(sessions_path: str | os.PathLike[str], settings: Settings) -> dict[str, SessionVersion]:
    """Every counterparty CompID in the venue's sessions file and the FIX version it uses."""
    sessions = load_sessions(sessions_path, settings)
    return {d.target_comp_id: SessionVersion(d.target_comp_id, d.begin_string, d.default_appl_ver_id)
            for d in sessions.sessions}


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a venue listening on `host` (0.0.0.0 means every address)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def fields_in_order(raw: str) -> list[tuple[str, str]]:
    return [(tag, value) for tag, _, value in (p.partition("=") for p in raw.split(SOH)) if tag]


def first_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for tag, value in pairs:
        fields.setdefault(tag, value)
    return fields


def fix_now() -> str:
    """UTCTimestamp with milliseconds, valid in every version."""
    now = time.time()
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _dictionary(name: str) -> str:
    from fix_gateway.acceptor import shipped_dictionary

    return str(shipped_dictionary(name))


class Initiator(fix.Application):
    """One counterparty's FIX session to the venue."""

    def __init__(self, session: SessionVersion, host: str, port: int, work_dir: str | os.PathLike[str], *,
                 target_comp_id: str = "EXCHANGE", on_message: Callable[[str, str], None] | None = None,
                 password: str | None = None, heartbeat_s: int = 30, message_log: bool = True) -> None:
        super().__init__()
        self.session = session
        self.comp_id = session.comp_id
        self.host, self.port = connect_host(host), port
        self.on_message = on_message
        self.password = password
        self.logged_on = threading.Event()
        self.rejects_sent: list[str] = []  # session Rejects (35=3) our engine sent: the venue sent something invalid
        self.rejects_received: list[str] = []  # session Rejects the venue sent us: we sent something invalid
        self.logout_texts: list[str] = []
        self.errors: list[str] = []  # exceptions raised by on_message (bugs): reported by the tool at the end
        self.session_id: fix.SessionID | None = None
        self._dictionaries: tuple | None = None
        directory = Path(work_dir)
        directory.mkdir(parents=True, exist_ok=True)
        if session.begin_string == "FIXT.1.1":
            dictionaries = (f"TransportDataDictionary={_dictionary('FIXT11.xml')}\n"
                            f"AppDataDictionary={_dictionary('FIX50SP2.xml')}\n"
                            f"DefaultApplVerID={session.appl_ver_id or 'FIX.5.0SP2'}\n")
        else:
            dictionaries = f"DataDictionary={_dictionary(session.begin_string.replace('.', '') + '.xml')}\n"
        path = directory / f"{self.comp_id}.cfg"
        path.write_text(
            "[DEFAULT]\nConnectionType=initiator\n"
            f"SocketConnectHost={self.host}\nSocketConnectPort={port}\nTargetCompID={target_comp_id}\n"
            "StartTime=00:00:00\nEndTime=00:00:00\n"
            f"HeartBtInt={heartbeat_s}\nReconnectInterval=1\nUseDataDictionary=Y\nValidateUserDefinedFields=Y\n"
            "ResetOnLogon=Y\nResetOnLogout=Y\nResetOnDisconnect=Y\nSocketNodelay=Y\n"
            f"[SESSION]\nBeginString={session.begin_string}\nSenderCompID={self.comp_id}\n{dictionaries}")
        # The C++ initiator keeps references to its settings and factories: they live as long as it does.
        self._settings = fix.SessionSettings(str(path))
        self._store_factory = fix.MemoryStoreFactory()
        self._log_factory = fix.FileLogFactory(str(directory / "log")) if message_log else None
        if self._log_factory is not None:
            self._initiator = fix.SocketInitiator(self, self._store_factory, self._settings, self._log_factory)
        else:
            self._initiator = fix.SocketInitiator(self, self._store_factory, self._settings)

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 10.0, *, wait: bool = True) -> "Initiator":
        """Connect and log on; InitiatorError (after cleaning up) if that does not happen within `timeout`.

        With wait=False it only starts connecting: call `wait_for_logon` later (several sessions at once).
        """
        self._initiator.start()
        return self.wait_for_logon(timeout) if wait else self

    def wait_for_logon(self, timeout: float = 10.0) -> "Initiator":
        if not self.logged_on.wait(timeout):
            if self.logout_texts:
                why = f": the venue said {self.logout_texts[-1]!r}"
            elif accepts_connections(self.host, self.port):
                why = (f": the venue is listening but did not take the logon (is another client already logged "
                       f"on as {self.comp_id}? is it configured on this venue?)")
            else:
                why = f" (is `fixex serve` running and listening on {self.host}:{self.port}?)"
            self.stop(graceful=False)
            raise InitiatorError(f"{self.comp_id} could not log on to {self.host}:{self.port} within "
                                 f"{timeout:g} s{why}")
        return self

    def logout(self, text: str = "") -> None:
        """Ask for a Logout (sent on QuickFIX's next timer tick); the session does not reconnect after it."""
        session = fix.Session.lookupSession(self.session_id) if self.session_id is not None else None
        if session is not None and self._initiator is not None:
            session.logout(text)

    def stop(self, *, graceful: bool = True, timeout: float = 5.0) -> None:
        """Log out (waiting up to `timeout` for the venue's Logout when graceful) and release the session.

        QuickFIX's own graceful stop polls in whole seconds; this waits only as long as the venue
        takes. QuickFIX keeps sessions in a process-wide registry: the initiator is destroyed so that
        another one may use this CompID later in the same process.
        """
        if self._initiator is None:
            return
        if graceful and self.logged_on.is_set():
            self.logout()
            deadline = time.monotonic() + timeout
            while self.logged_on.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
        self._initiator.stop(True)
        self._initiator = None
        self._store_factory = self._log_factory = self._settings = None
        self.logged_on.clear()

    # ------------------------------------------------------------------ sending

    def send(self, msg_type: str, fields: Iterable[tuple[str | int, object]], *, groups: bool = False) -> bool:
        """Send an application message; False if the session is not logged on (nothing is sent)."""
        if self.session_id is None or not self.logged_on.is_set():
            return False
        body = "".join(f"{tag}={value}{SOH}" for tag, value in fields if value is not None)
        text = f"8={self.session.begin_string}{SOH}9=0{SOH}35={msg_type}{SOH}{body}10=000{SOH}"
        message = fix.Message()
        if groups:  # framed against the dictionary, so that repeating groups keep their order
            if self._dictionaries is None:
                from fix_gateway.market_data import dictionaries_for

                self._dictionaries = dictionaries_for(self.session.begin_string, None, None)
            message.setString(text, False, *self._dictionaries)
        else:
            message.setString(text, False)
        return bool(fix.Session.sendToTarget(message, self.session_id))

    # ------------------------------------------------------------------ QuickFIX callbacks

    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        self.logged_on.set()

    def onLogout(self, session_id):
        self.logged_on.clear()

    def toAdmin(self, message, session_id):
        raw = message.toString()
        if f"{SOH}35=A{SOH}" in raw and self.password is not None:
            message.setField(553, self.comp_id)
            message.setField(554, self.password)
        elif f"{SOH}35=3{SOH}" in raw:
            self.rejects_sent.append(raw.replace(SOH, "|"))
            log.warning("%s rejected a message from the venue: %s", self.comp_id, raw.replace(SOH, "|"))

    def fromAdmin(self, message, session_id):
        raw = message.toString()
        if f"{SOH}35=3{SOH}" in raw:
            self.rejects_received.append(raw.replace(SOH, "|"))
            log.warning("the venue rejected a message from %s: %s", self.comp_id, raw.replace(SOH, "|"))
        elif f"{SOH}35=5{SOH}" in raw:
            text = first_fields(fields_in_order(raw)).get("58")
            if text:
                self.logout_texts.append(text)

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        if self.on_message is None:
            return
        raw = message.toString()
        try:
            self.on_message(first_fields(fields_in_order(raw)).get("35", ""), raw)
        except Exception as error:  # a bug in a tool: recorded and reported, QuickFIX's thread carries on
            log.exception("%s: handling a message failed", self.comp_id)
            self.errors.append(f"{type(error).__name__}: {error}")
