"""A QuickFIX acceptor for some of sessions.cfg's sessions: what every listening process shares.

The venue runs two: the order path (`fix_gateway.gateway`, order-entry sessions on
fix.port) and the market-data feed (`fix_gateway.market_data_feed`, the market-data and
drop-copy sessions on market_data.port, in a process of its own). Both check logons,
throttle each session, frame and send messages the same way, and stop the same way;
that is this class.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
from pathlib import Path

import quickfix as fix

from config import Settings
from fix_gateway.auth import verify_password
from fix_gateway.inbound import SessionContext, parse
from fix_gateway.market_data import PROBE_PREFIX, MarketDataPublisher, ProbeAnswered, dictionaries_for
from fix_gateway.outbound import business_reject, frame
from fix_gateway.quickfix_threads import keep_thread_state
from fix_gateway.sessions import SessionDefinition, SessionsFile, SessionsFileError
from fix_gateway.stop_guard import STOP_GUARD_COMP_ID, StopGuard, new_password
from fix_gateway.venue import self_trade_prevention_of
from fix_gateway.versions import THROTTLE_LIMIT_EXCEEDED, VERSIONS
from risk.throttle import SessionThrottle, ThrottleLimits, ThrottleVerdict

log = logging.getLogger("fixex.gateway")
_outgoing = threading.local()  # each sending thread's reusable fix.Message (SessionHost._send)

DICTIONARY_KEYS = ("DataDictionary", "TransportDataDictionary", "AppDataDictionary")
# TLS files: relative paths are relative to sessions.cfg, like the dictionaries.
TLS_FILE_KEYS = ("ServerCertificateFile", "ServerCertificateKeyFile", "CertificationAuthoritiesFile",
                 "CertificateRevocationListFile")
LOGOUT_GRACE_S = 5.0  # how long shutdown waits for counterparties to answer our Logout


def shipped_dictionary(name: str) -> Path:
    """The data dictionary of that name installed with the quickfix package."""
    dist = importlib.metadata.distribution("quickfix")
    for file in dist.files or ():
        if file.name == name:
            return Path(str(dist.locate_file(file))).resolve()
    raise FileNotFoundError(name)


def throttle_limits(settings: Settings, firm: str) -> ThrottleLimits:
    limits = settings.limits_for(firm)
    return ThrottleLimits(limits.max_messages_per_second, limits.logout_messages_per_second)


def order_path_sessions(sessions: SessionsFile, settings: Settings) -> tuple[SessionDefinition, ...]:
    """The sessions on fix.port: order entry."""
    return tuple(d for d in sessions.sessions if settings.session(d.target_comp_id).role == "order_entry")


def journal_fed_sessions(sessions: SessionsFile, settings: Settings) -> tuple[SessionDefinition, ...]:
    """The sessions on market_data.port, served from the input journal by the feed's process: market data
    and drop copy."""
    return tuple(d for d in sessions.sessions if settings.session(d.target_comp_id).role != "order_entry")


class SessionHost(fix.Application):
    """Listens on `port` for the sessions in `definitions` (a subset of `sessions_file`'s)."""

    def __init__(self, settings: Settings, sessions_file: SessionsFile, definitions: tuple[SessionDefinition, ...], *,
                 port: int, work_dir: str | Path, settings_name: str, guard_comp_id: str = STOP_GUARD_COMP_ID) -> None:
        super().__init__()
        self.settings = settings
        self._sessions_file = sessions_file
        self._definitions = definitions
        self._port = port
        self._work_dir = Path(work_dir)
        self._contexts: dict[str, SessionContext] = {}
        self._roles: dict[str, str] = {}
        self._begin_strings: dict[str, str] = {}
        self._session_ids: dict[str, fix.SessionID] = {}
        self._dictionaries: dict[str, tuple] = {}  # per session, for messages with repeating groups
        # Every session of the file, not only this host's: either process refuses a bad file the same way,
        # and serve (the order path) does so before anything starts.
        for definition in sessions_file.sessions:
            session = settings.session(definition.target_comp_id)
            version = VERSIONS[definition.version]
            if session.password_hash and not version.logon_credentials:
                raise SessionsFileError(sessions_file.path, f"[SESSION] at line {definition.line}",
                                        f"{session.comp_id} has a password but {version.name}'s Logon has no "
                                        f"Username/Password fields; use FIX.4.4 or FIXT.1.1")
        for definition in definitions:
            session = settings.session(definition.target_comp_id)
            version = VERSIONS[definition.version]
            self._contexts[session.comp_id] = SessionContext(
                session.comp_id, session.firm_id, version, self_trade_prevention_of(settings, session.firm_id))
            self._roles[session.comp_id] = session.role
            self._begin_strings[session.comp_id] = definition.begin_string
        self._throttles = {comp_id: SessionThrottle(throttle_limits(settings, ctx.firm))
                           for comp_id, ctx in self._contexts.items()}
        self._acceptor: fix.Acceptor | None = None
        self.publisher: MarketDataPublisher  # set by each kind of host: where its sessions' market data comes from
        self._stop_guard_password = new_password()
        # One per acceptor: QuickFIX keeps one registry of sessions per process (tests run both in one).
        self._guard_comp_id = guard_comp_id
        self.acceptor_settings_path = self._work_dir / "var" / "quickfix" / settings_name

    # ------------------------------------------------------------------ lifecycle

    def start_acceptor(self) -> None:
        path = self.write_acceptor_settings()
        # The C++ acceptor keeps references to these: they must live as long as it does.
        self._quickfix_settings = fix.SessionSettings(str(path))
        self._store_factory, self._log_factory = self.persistence(self._quickfix_settings)
        # Not the ThreadedSocketAcceptor: its send() blocks on a reader that stops reading (stalling
        # the one writer) and resends from the wrong offset after a partial write (quickfix 1.16).
        acceptor_type = fix.SSLSocketAcceptor if self.tls else fix.SocketAcceptor
        try:
            self._acceptor = (acceptor_type(self, self._store_factory, self._quickfix_settings, self._log_factory)
                              if self._log_factory is not None else
                              acceptor_type(self, self._store_factory, self._quickfix_settings))
        except fix.ConfigError as error:
            self._release_acceptor()
            if "HAVE_SSL" in str(error):
                raise SessionsFileError(
                    self._sessions_file.path, "ServerCertificateFile",
                    "TLS is configured but this quickfix build has no SSL support (built without HAVE_SSL); "
                    "install a quickfix built with OpenSSL, or terminate TLS in front of the exchange") from None
            raise SessionsFileError(self._sessions_file.path, "<file>", f"QuickFIX refused it: {error}") from None
        try:
            self._acceptor.start()
        except fix.RuntimeError:
            self._release_acceptor()
            raise

    def persistence(self, quickfix_settings: fix.SessionSettings
                    ) -> tuple[fix.MessageStoreFactory, fix.LogFactory | None]:
        """QuickFIX's message store (what a ResendRequest is answered from) and message log."""
        # Always a message log: the auditor reads every raw message from it (reporting.auditor).
        return fix.FileStoreFactory(quickfix_settings), fix.FileLogFactory(quickfix_settings)

    def stop_acceptor(self) -> None:
        """Log every session out, then stop listening (see fix_gateway/stop_guard.py for the guard)."""
        if self._acceptor is None:
            return
        self._log_out_sessions()
        guard = dropper = None
        if not self.tls:
            guard = StopGuard(self._work_dir, self.settings.fix.host, self._port, self.settings.fix.sender_comp_id,
                              self._stop_guard_password, self._guard_comp_id)
            if guard.log_on():
                dropper = guard.drop_after_linger()
        self._acceptor.stop(True)
        if guard is not None:
            if dropper is not None:
                dropper.join()
            guard.stop()
        self._release_acceptor()

    @property
    def listening(self) -> bool:
        return self._acceptor is not None

    @property
    def message_log_directory(self) -> Path:
        """QuickFIX's message logs (sessions.cfg FileLogPath, default var/log): the auditor's raw messages."""
        return (self._work_dir / self._sessions_file.defaults.get("FileLogPath", "var/log")).resolve()

    @property
    def tls(self) -> bool:
        """TLS when sessions.cfg names a server certificate (QuickFIX's SSL acceptor)."""
        return "ServerCertificateFile" in self._sessions_file.defaults

    def _log_out_sessions(self) -> None:
        """Send every logged-on counterparty a Logout saying why, and give them a moment to answer."""
        for session_id in self._session_ids.values():
            session = fix.Session.lookupSession(session_id)
            if session is not None and session.isLoggedOn():
                session.logout("the exchange is shutting down")
        deadline = time.monotonic() + LOGOUT_GRACE_S
        while time.monotonic() < deadline and self._acceptor.isLoggedOn():
            time.sleep(0.01)

    def _release_acceptor(self) -> None:
        self._acceptor = None  # destroyed before its factories, which it still references
        self._store_factory = self._log_factory = self._quickfix_settings = None

    def write_acceptor_settings(self) -> Path:
        """QuickFIX's settings: sessions.cfg plus the YAML's address and CompID, dictionaries resolved."""
        base = Path(self._sessions_file.path).resolve().parent
        lines = ["[DEFAULT]"]
        defaults = dict(self._sessions_file.defaults)
        defaults.update(SocketAcceptHost=self.settings.fix.host, SocketAcceptPort=str(self._port),
                        SenderCompID=self.settings.fix.sender_comp_id)
        defaults["FileLogPath"] = str(self.message_log_directory)
        if "FileStorePath" in defaults:
            defaults["FileStorePath"] = str((self._work_dir / defaults["FileStorePath"]).resolve())
        for key in TLS_FILE_KEYS:
            if key in defaults:
                defaults[key] = str((base / defaults[key]).resolve())
        lines += [f"{k}={v}" for k, v in defaults.items()]
        for definition in self._definitions:
            lines.append("[SESSION]")
            for key, value in definition.settings.items():
                if key in defaults and defaults[key] == value or key in ("SocketAcceptHost", "SocketAcceptPort"):
                    continue
                if key in DICTIONARY_KEYS:
                    value = str(shipped_dictionary(value) if "/" not in value else (base / value).resolve())
                if key in ("FileStorePath", "FileLogPath"):
                    value = str((self._work_dir / value).resolve())
                lines.append(f"{key}={value}")
        if not self.tls:  # see fix_gateway/stop_guard.py
            lines += ["[SESSION]", "BeginString=FIX.4.4", f"TargetCompID={self._guard_comp_id}",
                      f"DataDictionary={shipped_dictionary('FIX44.xml')}", "ResetOnLogon=Y"]
        self.acceptor_settings_path.parent.mkdir(parents=True, exist_ok=True)
        self.acceptor_settings_path.write_text("\n".join(lines) + "\n")
        return self.acceptor_settings_path

    def logged_on(self, comp_id: str) -> bool:
        session_id = self._session_ids.get(comp_id)
        return session_id is not None and fix.Session.lookupSession(session_id).isLoggedOn()

    # ------------------------------------------------------------------ QuickFIX callbacks

    def onCreate(self, session_id: fix.SessionID) -> None:
        comp_id = session_id.getTargetCompID().getValue()
        if comp_id != self._guard_comp_id:
            self._session_ids[comp_id] = session_id

    def onLogon(self, session_id: fix.SessionID) -> None:
        log.info("logon: %s", session_id.toString())
        throttle = self._throttles.get(session_id.getTargetCompID().getValue())
        if throttle is not None:
            throttle.reset()

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        # Every session's Logon comes through here first, on the acceptor's one thread: from then on that
        # thread keeps its Python state, and the order path itself never checks.
        keep_thread_state()
        raw = message.toString()
        if "\x0135=0\x01" in raw and f"\x01112={PROBE_PREFIX}" in raw:  # a subscriber read up to our probe
            f = parse(raw)
            self.publisher.request(ProbeAnswered(f.get("49", ""), f["112"]))
        elif "\x0135=A\x01" in raw:
            self.check_logon(raw)

    def check_logon(self, raw: str) -> None:
        """A Logon's credentials (fromAdmin): raises fix.RejectLogon with a Text when they are wrong."""
        f = parse(raw)
        comp_id = f.get("49", "")
        if comp_id == self._guard_comp_id:
            if f.get("554") != self._stop_guard_password:
                raise fix.RejectLogon("logon refused: this CompID is internal to the exchange")
            return
        stored = self.settings.session(comp_id).password_hash
        if stored is None:
            return
        if f.get("553") != comp_id or not verify_password(f.get("554", ""), stored):
            log.warning("logon refused for %s: wrong username or password", comp_id)
            raise fix.RejectLogon("logon refused: wrong Username (553) or Password (554)")

    # ------------------------------------------------------------------ sending

    def throttle_refusal(self, comp_id: str, ctx: SessionContext, f: dict[str, str], msg_type: str,
                         verdict: ThrottleVerdict) -> None:
        """Refuse a message over the session's rate with a readable reject; past the second limit, log out."""
        limits = self._throttles[comp_id].limits
        count = self._throttles[comp_id].in_window
        text = (f"throttled: {count} messages from {comp_id} in the last second, above the limit of "
                f"{limits.refuse_above} (risk max_messages_per_second); this {msg_type} was not processed")
        self._send(comp_id, business_reject(ctx.version, f.get("34"), msg_type, THROTTLE_LIMIT_EXCEEDED, text,
                                            f.get("11") or f.get("262") or f.get("320")))
        if verdict is ThrottleVerdict.LOG_OUT:
            reason = (f"logged out: more than {limits.log_out_above} messages in one second "
                      f"(risk logout_messages_per_second)")
            log.warning("%s %s", comp_id, reason)
            self._log_out_session(comp_id, reason)

    def _log_out_session(self, comp_id: str, text: str) -> None:
        session_id = self._session_ids.get(comp_id)
        session = fix.Session.lookupSession(session_id) if session_id is not None else None
        if session is not None:
            session.logout(text)

    def _dictionaries_of(self, comp_id: str) -> tuple:
        """The session's data dictionaries as QuickFIX objects (loaded once per process, then only read)."""
        dictionaries = self._dictionaries.get(comp_id)
        if dictionaries is None:
            definition = next(d for d in self._sessions_file.sessions if d.target_comp_id == comp_id)
            dictionaries = self._dictionaries[comp_id] = dictionaries_for(
                definition.begin_string, definition.settings.get("TransportDataDictionary"),
                definition.settings.get("AppDataDictionary") or definition.settings.get("DataDictionary"))
        return dictionaries

    def _send_with_groups(self, comp_id: str, body: str) -> None:
        """Like `_send`, framed against the session's data dictionary so repeating groups keep their order."""
        self._send(comp_id, body, self._dictionaries_of(comp_id))

    def _send(self, comp_id: str, body: str, dictionaries: tuple = ()) -> None:
        session_id = self._session_ids.get(comp_id)
        if session_id is None:
            log.error("no QuickFIX session for %s; message dropped: %r", comp_id, body)
            return
        message = getattr(_outgoing, "message", None)
        if message is None:
            # One per sending thread, reused: setString clears it, and QuickFIX keeps the text it sends, not
            # the object. A new fix.Message for each send cost about 1.2 µs more.
            message = _outgoing.message = fix.Message()
        message.setString(frame(self._begin_strings[comp_id], body), False, *dictionaries)
        # Sent now if the session is logged on; otherwise stored and resent when it returns.
        fix.Session.sendToTarget(message, session_id)
