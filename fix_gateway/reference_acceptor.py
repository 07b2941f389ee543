"""QuickFIX alone: the ceiling `fixex bench --reference` measures the venue against.

The same acceptor as the venue's order path (`SessionHost`: sessions.cfg, data dictionary
validation, logon checks, one reused `fix.Message` per reply, the FileStore and FileLog) with
no venue behind it: each NewOrderSingle is read once (`toString`), and answered at once with an
ExecutionReport (New) built as one string, as DESIGN.md's measured Python acceptor does. No
journal, risk, matching, or audit. What the venue reaches as a fraction of this, measured in
one run, says how much of the time is ours and how much is QuickFIX's and the host's.

`--persistence memory` swaps the FileStore for QuickFIX's MemoryStore and drops the message
log, to show what QuickFIX's files cost (the venue cannot: resends and the auditor need them).

Run by the benchmark as `python -m fix_gateway.reference_acceptor --config X --persistence file`
in a scratch directory; it stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import time
from pathlib import Path

import quickfix as fix

from config import load_settings
from fix_gateway import heap, quickfix_threads
from fix_gateway.acceptor import SessionHost, order_path_sessions
from fix_gateway.inbound import parse
from fix_gateway.outbound import fix_timestamp
from fix_gateway.sessions import SessionsFile, load_sessions

PERSISTENCE = ("file", "memory")


class ReferenceAcceptor(SessionHost):
    """Acknowledges every NewOrderSingle of the order-entry sessions, and does nothing else."""

    def __init__(self, settings, sessions: SessionsFile, *, work_dir: Path, persistence: str = "file") -> None:
        if persistence not in PERSISTENCE:
            raise ValueError(f"persistence must be one of {', '.join(PERSISTENCE)}, not {persistence!r}")
        super().__init__(settings, sessions, order_path_sessions(sessions, settings), port=settings.fix.port,
                         work_dir=work_dir, settings_name="reference-acceptor.cfg")
        self._persistence = persistence
        self._ids = itertools.count(1)
        self._exec_trans_type = {comp_id: "20=0\x01" if ctx.version.exec_trans_type else ""
                                 for comp_id, ctx in self._contexts.items()}

    def persistence(self, quickfix_settings: fix.SessionSettings
                    ) -> tuple[fix.MessageStoreFactory, fix.LogFactory | None]:
        if self._persistence == "memory":
            return fix.MemoryStoreFactory(), None
        return super().persistence(quickfix_settings)

    def onLogout(self, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        f = parse(message.toString())
        if f.get("35") != "D":
            raise fix.UnsupportedMessageType()
        comp_id = f["49"]
        quantity = f.get("38", "0")
        n = next(self._ids)
        # The venue's acknowledgement (Outbound._accepted: ascending tags), with the order's own text echoed back.
        self._send(comp_id, f"35=8\x016=0\x0111={f['11']}\x0114=0\x0117={n}\x01{self._exec_trans_type[comp_id]}"
                            f"37={n}\x0138={quantity}\x0139=0\x0140={f.get('40', '2')}\x0144={f.get('44', '0')}\x01"
                            f"54={f.get('54', '')}\x0155={f.get('55', '')}\x0159={f.get('59', '0')}\x01"
                            f"60={fix_timestamp(time.time_ns())}\x01150=0\x01151={quantity}\x01")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fix_gateway.reference_acceptor",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the exchange's YAML config (fix.port, fix.sessions_file)")
    parser.add_argument("--persistence", default="file", choices=PERSISTENCE,
                        help="file: FileStore and FileLog, as the venue (default); memory: MemoryStore, no log")
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    acceptor = ReferenceAcceptor(settings, load_sessions(settings.fix.sessions_file, settings), work_dir=Path.cwd(),
                                 persistence=args.persistence)
    acceptor.publisher = None  # no market data: a probe answer never comes to this host
    received: list[int] = []  # the signals asking it to stop
    signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    heap.tune_for_trading()  # as the venue: same collector policy, same kept thread states
    quickfix_threads.keep_thread_states_in_this_process()
    heap.settle()
    acceptor.start_acceptor()
    print(f"reference acceptor listening on {settings.fix.host}:{settings.fix.port} ({args.persistence})", flush=True)
    try:
        while not received:
            time.sleep(0.05)
    finally:
        acceptor.stop_acceptor()
    return 0


if __name__ == "__main__":
    sys.exit(main())
