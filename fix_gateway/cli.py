"""`fixex`: the exchange's command line.

Errors an operator can fix (a bad config file, a bad sessions.cfg) print one line
naming the file, the key and what is allowed, and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

import quickfix as fix

from config import DEFAULT_CONFIG_PATH, ConfigError, load_settings
from fix_gateway import heap, quickfix_threads
from fix_gateway.audit_child import audit_child, market_data_child
from fix_gateway.gateway import Gateway
from fix_gateway.sessions import SessionsFileError, load_sessions
from reporting.audit_service import run_audit
from reporting.command_journal import ReplayDivergedError
from reporting.journal import JournalCorruptError, JournalInUseError

log = logging.getLogger("fixex")
LEFTOVER_FEED_WAIT_S = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fixex", description="A FIX protocol exchange.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="run the exchange until SIGINT or SIGTERM",
                                description="Load the config, build the order books and run the exchange "
                                            "until SIGINT or SIGTERM.")
    serve.add_argument("--config", default=str(DEFAULT_CONFIG_PATH),
                       help="YAML settings file (default: %(default)s)")
    serve.add_argument("--sessions", help="QuickFIX sessions file (default: fix.sessions_file from the config)")
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.add_argument("--no-audit", action="store_true",
                       help="benchmarks only: no input journal, no auditor, no restart recovery")
    serve.add_argument("--no-risk", action="store_true",
                       help="benchmarks only: no pre-trade checks, exposure tracking or circuit breakers")
    serve.add_argument("--no-market-data", action="store_true",
                       help="do not start the market-data process: market-data and drop-copy sessions are not "
                            "served (for a benchmark of the audit trail alone, or market data served elsewhere)")
    serve.set_defaults(run=_serve)

    audit = commands.add_parser(
        "audit", help="turn the journals into the audit trail and load it into the database",
        description="Derive audit records from the venue's input journal and QuickFIX's message logs and load "
                    "them into the audit database. `fixex serve` runs this for you; run it alone with --once to "
                    "catch the database up after the venue stopped.")
    audit.add_argument("--config", default=str(DEFAULT_CONFIG_PATH), help="YAML settings file (default: %(default)s)")
    audit.add_argument("--journal", help="journal directory (default: journal.path from the config)")
    audit.add_argument("--message-log", help="QuickFIX FileLogPath directory (default: var/log)")
    audit.add_argument("--database", help="database URL (default: database.url from the config)")
    audit.add_argument("--once", action="store_true", help="catch up, load, and exit (status 1 if the database "
                                                           "could not be brought up to date)")
    audit.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    audit.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # set by serve: finish when it dies
    audit.set_defaults(run=_audit)

    market_data = commands.add_parser(
        "market-data", help="serve the market-data and drop-copy sessions from the input journal (fixex serve runs it)",
        description="Listen on market_data.port for the market-data and drop-copy sessions; publish the books, "
                    "trades and statistics, and copy the execution reports, of every command in the venue's input "
                    "journal as it grows. `fixex serve` runs this for you, in its own process.")
    market_data.add_argument("--config", default=str(DEFAULT_CONFIG_PATH),
                             help="YAML settings file (default: %(default)s)")
    market_data.add_argument("--sessions", help="QuickFIX sessions file (default: fix.sessions_file from the config)")
    market_data.add_argument("--journal", help="journal directory (default: journal.path from the config)")
    market_data.add_argument("--work-dir", default=".", help="where var/ (QuickFIX store, logs) is (default: .)")
    market_data.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    market_data.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # set by serve: stop when it dies
    market_data.set_defaults(run=_market_data)

    bench = commands.add_parser("bench", add_help=False,
                                help="benchmark order entry over FIX (fixex bench --help for options)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER, help="options for the gateway benchmark")
    bench.set_defaults(run=_bench)

    admin = commands.add_parser(
        "admin", help="operate a running exchange: status, kill switches, halts",
        description="Send one command to a running `fixex serve` through its admin socket and print the answer.",
        epilog="commands: status | kill-switch set|reset venue|FIRM | halt SYMBOL | resume SYMBOL | reload-risk")
    admin.add_argument("--socket", default="var/admin.sock",
                       help="the exchange's admin socket (default: %(default)s, relative to where it runs)")
    admin.add_argument("admin_command", metavar="COMMAND", choices=["status", "kill-switch", "halt", "resume",
                                                                     "reload-risk"])
    admin.add_argument("admin_args", metavar="ARG", nargs="*")
    admin.set_defaults(run=_admin)

    demo = commands.add_parser(
        "demo", help="a market maker and a few brokers trading over FIX, so the books move",
        description="Start the venue (or use one already running) and trade on it over real FIX sessions: a "
                    "market maker (BROKER1) quotes every instrument around its reference price and brokers "
                    "(BROKER2-4) send orders. Prints a line a second; Ctrl-C logs out and stops.")
    from fix_gateway import demo as demo_module

    demo_module.add_arguments(demo, str(DEFAULT_CONFIG_PATH))
    demo.set_defaults(run=_demo)

    watch = commands.add_parser(
        "watch", help="a live terminal view of one instrument: Level 2 book, last trades, trading status",
        description="Subscribe to an instrument's market data over a FIX market-data session and redraw its "
                    "book, last trades and trading status twice a second. Ctrl-C quits.")
    from fix_gateway import watch as watch_module

    watch_module.add_arguments(watch, str(DEFAULT_CONFIG_PATH))
    watch.set_defaults(run=_watch)

    # Listed for --help only: `report` has its own parser (reporting.report_cli), dispatched below, so that
    # its options may come before or after the report's name.
    commands.add_parser("report", add_help=False, help="export or verify the compliance audit trail "
                                                       "(fixex report --help for options)")

    password = commands.add_parser("hash-password", help="print a salted hash for a session's logon password",
                                   description="Read a password (typed without echo, or from standard input) and "
                                               "print the password_hash to put in the YAML config.")
    password.set_defaults(run=_hash_password)

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:
        from reporting.report_cli import main as report_main

        return report_main(argv[1:])
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, SessionsFileError) as error:
        print(f"fixex: {error}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.config)
    sessions = load_sessions(args.sessions or settings.fix.sessions_file, settings)
    Path("var").mkdir(exist_ok=True)
    try:
        gateway = Gateway(settings, sessions, clock=time.time_ns, journal=not args.no_audit,
                          pre_trade_risk=not args.no_risk)
    except JournalInUseError as error:
        print(f"fixex: cannot start: {error} (is another fixex serve running in {Path.cwd()}?)", file=sys.stderr)
        return 1
    except JournalCorruptError as error:
        # The input journal is what every restart rebuilds the books from: nothing is started on a guess.
        print(f"fixex: cannot start: the input journal does not verify: {error}. Restore it from a copy, or "
              f"move {settings.journal.path} aside to start with empty books (the audit database keeps what it "
              f"loaded)", file=sys.stderr)
        return 1
    except ReplayDivergedError as error:
        print(f"fixex: cannot start: {error}", file=sys.stderr)
        return 1
    auditor = (None if args.no_audit else
               audit_child(args.config, gateway.journal_directory.resolve(), gateway.message_log_directory,
                           args.log_level))
    journal_fed = [s.comp_id for s in settings.sessions if s.role != "order_entry"]  # market data, drop copy
    feed = None
    if not args.no_audit and not args.no_market_data and journal_fed:
        feed = market_data_child(args.config, args.sessions, gateway.journal_directory.resolve(), Path.cwd(),
                                 args.log_level)
        _wait_for_leftover_feed(gateway.journal_directory)
        problem = _port_unavailable(settings.fix.host, settings.market_data.port)
        if problem is not None:
            gateway.close_journal()
            print(f"fixex: cannot listen for market data on {settings.fix.host}:{settings.market_data.port} "
                  f"(config market_data.port): {problem}", file=sys.stderr)
            return 1

    received: list[str] = []

    def request_stop(signum: int, _frame: object) -> None:
        # Only a list append: Event.set() here can deadlock against the main thread's own
        # Event.wait(), since both take the same non-reentrant lock (seen as a hung SIGTERM).
        received.append(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    log.info("config %s: venue %s, trading day ends %s UTC", settings.source, settings.venue.name,
             settings.venue.trading_day_end.strftime("%H:%M"))
    for instrument in settings.instruments:
        log.info("instrument %s: tick %s, lot %d, %s, reference %s", instrument.symbol, instrument.tick_size,
                 instrument.lot_size, instrument.currency, instrument.reference_price)
    roles = {s.comp_id: s for s in settings.sessions}
    for session in sessions.sessions:
        role = roles[session.target_comp_id]
        log.info("FIX session %s -> %s (%s): firm %s, %s", settings.fix.sender_comp_id, session.target_comp_id,
                 session.version, role.firm_id, role.role)
    # Before the port opens: the first full collection must not stall the first orders.
    heap.tune_for_trading()
    quickfix_threads.keep_thread_states_in_this_process()  # its acceptor lives as long as the process
    heap.settle()
    try:
        gateway.start()
    except fix.RuntimeError as error:  # e.g. the port is taken
        print(f"fixex: cannot start the FIX acceptor on {settings.fix.host}:{settings.fix.port}: {error}",
              file=sys.stderr)
        return 1
    if auditor is not None:
        auditor.start()
    else:
        log.warning("running without the input journal (--no-audit): nothing is recorded, a restart "
                    "loses every order, and market-data sessions are not served (their feed reads the journal)")
    if feed is not None:
        feed.start()
    elif args.no_market_data and journal_fed:
        log.warning("--no-market-data: the market-data process is not started, so %s cannot log on",
                    ", ".join(journal_fed))
    log.info("order books ready for %s", ", ".join(gateway.engine.symbols))
    days_ended = gateway.trading_days_ended
    log.info("ready; stop with Ctrl-C or SIGTERM")
    while not received:
        time.sleep(0.1)
        if auditor is not None:
            auditor.watch()
        if feed is not None:
            feed.watch()
        if gateway.trading_days_ended != days_ended:  # the venue is quiet: clear the day's garbage now
            days_ended = gateway.trading_days_ended
            heap.settle()
    log.info("%s received: logging sessions out (open orders stay for the next start)", received[0])
    gateway.stop()
    if feed is not None:  # after the venue: the last commands' market data still goes out
        feed.stop()
    if auditor is not None and auditor.stop() not in (0, None):
        log.warning("the audit database is behind the journal; `fixex audit --once` catches it up")
    log.info("stopped cleanly")
    return 0


def _stop_requested(parent_pid: int | None):
    """When a child of serve (or a command run alone) should finish: after SIGTERM, after SIGINT when run
    alone, or once serve is gone (a serve killed with SIGKILL cannot stop it). Run by serve, SIGINT is
    ignored: Ctrl-C in a terminal reaches every process of the group at once, and serve stops its children
    itself, in order (the venue first, so that the last commands still reach market data and the audit trail)."""
    received: list[str] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append("SIGTERM"))
    # serve starts its children with SIGTERM blocked (audit_child): one sent meanwhile arrives here, handled.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if parent_pid:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return lambda: bool(received) or os.getppid() != parent_pid
    signal.signal(signal.SIGINT, lambda signum, _frame: received.append("SIGINT"))
    return lambda: bool(received)


def _wait_for_leftover_feed(journal_directory: Path, wait_s: float = LEFTOVER_FEED_WAIT_S) -> None:
    """The market-data process of a serve killed with SIGKILL holds its port until it notices and stops
    (a second or two): a restart waits for it rather than failing on a port in use."""
    from fix_gateway.market_data_feed import read_status

    status = read_status(journal_directory) or {}
    pid = status.get("pid")
    if not isinstance(pid, int) or not _is_market_data_process(pid):
        return
    log.warning("waiting up to %.0f s for the market-data process (pid %d) of a venue that did not stop it",
                wait_s, pid)
    deadline = time.monotonic() + wait_s
    while _is_market_data_process(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _is_market_data_process(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:  # the command line, not just the pid: a pid is reused once its process is gone
        return b"market-data" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


def _port_unavailable(host: str, port: int) -> str | None:
    """Why nothing could listen on host:port, or None if it can (checked before the child tries)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return None


def _market_data(args: argparse.Namespace) -> int:
    from fix_gateway.market_data_feed import run_market_data

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.config)
    sessions = load_sessions(args.sessions or settings.fix.sessions_file, settings)
    stop_requested = _stop_requested(args.parent_pid)
    heap.tune_for_trading()
    quickfix_threads.keep_thread_states_in_this_process()  # its acceptor lives as long as the process
    return run_market_data(settings, sessions, Path(args.journal or settings.journal.path), work_dir=Path(args.work_dir),
                           stop_requested=stop_requested)


def _audit(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.config)
    return run_audit(settings, Path(args.journal or settings.journal.path), Path(args.message_log or "var/log"),
                     database_url=args.database, once=args.once, stop_requested=_stop_requested(args.parent_pid))


def _admin(args: argparse.Namespace) -> int:
    import json

    from fix_gateway.admin import admin_request

    try:
        answer = admin_request(Path(args.socket), args.admin_command, args.admin_args)
    except (FileNotFoundError, ConnectionRefusedError):
        print(f"fixex: no exchange is listening on {args.socket} (is `fixex serve` running from this directory? "
              f"else pass --socket)", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"fixex: cannot reach the admin socket {args.socket}: {error}", file=sys.stderr)
        return 1
    if not answer.get("ok"):
        print(f"fixex: {answer.get('error', 'the exchange refused the command')}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in answer.items() if k != "ok"}, indent=2))
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    import getpass

    from fix_gateway.auth import hash_password

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        print("fixex: an empty password cannot be hashed", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from fix_gateway import demo

    logging.basicConfig(level="WARNING", stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return demo.run(args)


def _watch(args: argparse.Namespace) -> int:
    from fix_gateway import watch

    logging.basicConfig(level="ERROR", stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    return watch.main_with_signals(args)


def _bench(args: argparse.Namespace) -> int:
    from fix_gateway import bench

    return bench.main([a for a in args.bench_args if a != "--"])


if __name__ == "__main__":
    raise SystemExit(main())
