"""A broker's FIX engine for tests: a real QuickFIX initiator over loopback.

It validates every message it receives against its version's data dictionary, as
a strict counterparty does: a message we send that the dictionary does not allow
never reaches `received`, and the session-level Reject (35=3) the client answers
with is recorded in `rejects_sent`, which tests assert stays empty.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from pathlib import Path

import quickfix as fix

from fix_gateway.acceptor import shipped_dictionary
from fix_gateway.bench import free_port  # noqa: F401 (one picker for tests and benchmarks)
from fix_gateway.market_data import dictionaries_for

SOH = "\x01"
VERSION = {
    "FIX.4.2": ("FIX.4.2", None),
    "FIX.4.4": ("FIX.4.4", None),
    "FIX.5.0SP2": ("FIXT.1.1", "FIX.5.0SP2"),
}


def parse(raw: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in raw.split(SOH):
        tag, _, value = pair.partition("=")
        if tag and tag not in fields:
            fields[tag] = value
    return fields


def now_fix() -> str:
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()) + ".000"


class FixClient(fix.Application):
    _ids = itertools.count(1)

    def __init__(self, comp_id: str, version: str, port: int, work_dir: Path, *, password: str | None = None,
                 username: str | None = None, reset: bool = True, store: str | None = None,
                 tls: bool = False) -> None:
        super().__init__()
        self.comp_id = comp_id
        self.version = version
        self.begin_string, self.appl_ver_id = VERSION[version]
        self.password, self.username = password, username if username is not None else comp_id
        self.received: queue.Queue[dict[str, str]] = queue.Queue()
        self.admin: list[dict[str, str]] = []
        self.rejects_sent: list[str] = []
        self.logged_on = False
        self._dictionaries: tuple | None = None
        self._reading = threading.Event()
        self._reading.set()
        self.session_id: fix.SessionID | None = None
        # A named store is reused by a later client: a broker's engine reconnecting with its state.
        directory = work_dir / f"client-{comp_id}-{store or next(self._ids)}"
        directory.mkdir(parents=True, exist_ok=True)
        dictionaries = (f"TransportDataDictionary={shipped_dictionary('FIXT11.xml')}\n"
                        f"AppDataDictionary={shipped_dictionary('FIX50SP2.xml')}\n"
                        f"DefaultApplVerID={self.appl_ver_id}\n") if self.appl_ver_id else (
            f"DataDictionary={shipped_dictionary(self.begin_string.replace('.', '') + '.xml')}\n")
        (directory / "client.cfg").write_text(
            "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\n"
            f"SocketConnectPort={port}\nTargetCompID=EXCHANGE\nStartTime=00:00:00\nEndTime=00:00:00\n"
            f"HeartBtInt=30\nReconnectInterval=1\nUseDataDictionary=Y\nValidateUserDefinedFields=Y\n"
            f"FileStorePath={directory / 'store'}\nResetOnLogon={'Y' if reset else 'N'}\n"
            + ("SSLProtocol=+TLSv1_2 +TLSv1_3\nCertificateVerifyLevel=0\n" if tls else "")
            + f"[SESSION]\nBeginString={self.begin_string}\nSenderCompID={comp_id}\n{dictionaries}")
        # The C++ initiator keeps references to settings and factories: keep them alive with it.
        self._settings = fix.SessionSettings(str(directory / "client.cfg"))
        self._store_factory = fix.FileStoreFactory(self._settings)
        self._log_factory = fix.FileLogFactory(str(directory / "log"))
        initiator_type = fix.SSLSocketInitiator if tls else fix.SocketInitiator
        self._initiator = initiator_type(self, self._store_factory, self._settings, self._log_factory)

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, expect_logon: bool = True, timeout: float = 10.0) -> "FixClient":
        self._initiator.start()
        if expect_logon:
            self.wait_until(lambda: self.logged_on, timeout, f"{self.comp_id} never logged on")
        return self

    def stop(self, *, graceful: bool = False) -> None:
        """Disconnect (after a Logout handshake if graceful) and destroy the initiator.

        QuickFIX keeps sessions in a process-wide registry: a stopped but living
        initiator would still own this SessionID in the next test. A graceful stop
        waits for the Logout reply in whole seconds, so teardown skips it.
        """
        self.resume()  # a paused QuickFIX thread could never be joined
        if self._initiator is not None:
            self._initiator.stop(not graceful)
            self._initiator = None
            self._store_factory = self._log_factory = self._settings = None
            self.logged_on = False

    def wait_until(self, condition, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(message)
            time.sleep(0.01)

    # ------------------------------------------------------------------ QuickFIX callbacks

    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        self.logged_on = True

    def onLogout(self, session_id):
        self.logged_on = False

    def toAdmin(self, message, session_id):
        raw = message.toString()
        if f"{SOH}35=A{SOH}" in raw and self.password is not None:
            message.setField(553, self.username)
            message.setField(554, self.password)
        if f"{SOH}35=3{SOH}" in raw:
            self.rejects_sent.append(raw.replace(SOH, "|"))

    def fromAdmin(self, message, session_id):
        self.admin.append(parse(message.toString()))

    def toApp(self, message, session_id):
        pass

    def pause(self) -> None:
        """Stop reading: the next message blocks this client's QuickFIX thread until resume()."""
        self._reading.clear()

    def resume(self) -> None:
        self._reading.set()

    def fromApp(self, message, session_id):
        self._reading.wait()
        raw = message.toString()
        fields = parse(raw)
        fields["raw"] = raw  # repeating groups need every field, in order
        self.received.put(fields)

    # ------------------------------------------------------------------ sending

    def send(self, msg_type: str, fields: list[tuple[str | int, object]]) -> None:
        body = "".join(f"{tag}={value}{SOH}" for tag, value in fields if value is not None)
        message = fix.Message()
        message.setString(f"8={self.begin_string}{SOH}9=0{SOH}35={msg_type}{SOH}{body}10=000{SOH}", False)
        fix.Session.sendToTarget(message, self.session_id)

    def send_with_groups(self, msg_type: str, fields: list[tuple[str | int, object]]) -> None:
        """Like send, framed against the data dictionary so repeating groups stay in order."""
        body = "".join(f"{tag}={value}{SOH}" for tag, value in fields if value is not None)
        if self._dictionaries is None:  # loaded on first use: the 5.0 SP2 dictionary takes a while
            self._dictionaries = dictionaries_for(self.begin_string, None, None)
        message = fix.Message()
        message.setString(f"8={self.begin_string}{SOH}9=0{SOH}35={msg_type}{SOH}{body}10=000{SOH}", False,
                          *self._dictionaries)
        fix.Session.sendToTarget(message, self.session_id)

    def subscribe(self, request_id: str, symbols, entry_types="01", *, depth=0, subscription="1",
                  update_type="1") -> None:
        self.send_with_groups("V", [
            (262, request_id), (263, subscription), (264, depth),
            (265, update_type if subscription == "1" else None), (267, len(entry_types)),
            *[(269, t) for t in entry_types], (146, len(symbols)), *[(55, s) for s in symbols]])

    def new_order(self, cl_ord_id: str, side: str, quantity, price=None, *, symbol="AAPL", ord_type=None,
                  tif=None, stop=None, extra=()) -> None:
        ord_type = ord_type or ("2" if price is not None else "1")
        fields = [(11, cl_ord_id)]
        if self.version == "FIX.4.2":
            fields.append((21, "1"))  # HandlInst, required in 4.2
        fields += [(55, symbol), (54, side), (60, now_fix()), (38, quantity), (40, ord_type), (44, price),
                   (99, stop), (59, tif), *extra]
        self.send("D", fields)

    def cancel(self, cl_ord_id: str, orig: str | None, side: str = "1", *, symbol="AAPL", order_id=None,
               extra=()) -> None:
        self.send("F", [(41, orig), (37, order_id), (11, cl_ord_id), (55, symbol), (54, side), (60, now_fix()),
                        *extra])

    def replace(self, cl_ord_id: str, orig: str, side: str, quantity, price=None, *, symbol="AAPL", ord_type="2",
                extra=()) -> None:
        fields = [(41, orig), (11, cl_ord_id)]
        if self.version == "FIX.4.2":
            fields.append((21, "1"))
        fields += [(55, symbol), (54, side), (60, now_fix()), (38, quantity), (40, ord_type), (44, price), *extra]
        self.send("G", fields)

    def status(self, cl_ord_id: str, side: str = "1", *, symbol="AAPL", order_id=None) -> None:
        self.send("H", [(37, order_id), (11, cl_ord_id), (55, symbol), (54, side)])

    # ------------------------------------------------------------------ receiving

    def next(self, msg_type: str | None = None, timeout: float = 5.0) -> dict[str, str]:
        """The next application message (of `msg_type`, skipping others)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.comp_id}: no {msg_type or 'message'} within {timeout}s; "
                                     f"session rejects sent: {self.rejects_sent}")
            try:
                message = self.received.get(timeout=remaining)
            except queue.Empty:
                continue
            if msg_type is None or message.get("35") == msg_type:
                return message

    def reports(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        return [self.next("8", timeout) for _ in range(count)]

    def nothing_more(self, wait: float = 0.3) -> bool:
        time.sleep(wait)
        return self.received.empty()
