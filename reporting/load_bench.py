"""Audit pipeline benchmark: `fixex bench -- --loader`.

Writes a synthetic input journal (resting buys, and sells that trade against them),
then times each stage on its own: the venue's journal append, the auditor deriving
audit records, the loader copying them into a SQLite file (the embedded default) and
into PostgreSQL (a scratch database, dropped afterwards: the journal's lines COPYed as
they are and parsed by the database into audit_events and fix_messages, with orders,
trades and sessions filled in the same transactions), and `verify` rechecking the chain
and every row in the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import Settings, load_settings
from matching import OrderType, Side, SubmitOrder
from reporting.auditor import Auditor
from reporting.command_journal import CommandJournal, VenueStarted
from reporting.fees import FeeSchedule
from reporting.journal import last_journal_seq
from reporting.loader import JournalLoader
from reporting.verify import verify_chain

DEFAULT_DATABASE = os.environ.get("FIXEX_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def write_inputs(directory: Path, commands: int) -> float:
    """Write the input journal; return the seconds spent appending."""
    journal = CommandJournal(directory, "os")
    now = time.time_ns()
    journal.record(VenueStarted(now, 1, 1))
    started = time.perf_counter()
    for n in range(commands):
        # Pairs: a buy rests, the next sell trades with it (accepted x2, fills x2, trade).
        side = Side.BUY if n % 2 == 0 else Side.SELL
        journal.command(now + n, SubmitOrder("BROKER1" if side is Side.BUY else "BROKER2",
                                             "FIRM_A" if side is Side.BUY else "FIRM_B", f"c{n}", "AAPL", side,
                                             OrderType.LIMIT, 100, 1_900_000), "BROKER1", n + 2)
    elapsed = time.perf_counter() - started
    journal.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fixex bench -- --loader", description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=40_000, help="orders in the input journal (default %(default)s)")
    parser.add_argument("--database", default=DEFAULT_DATABASE,
                        help="PostgreSQL server to create a scratch database on (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=5_000, help="loader batch size (default %(default)s)")
    args = parser.parse_args(argv)
    settings = load_settings()
    print(f"audit pipeline benchmark: python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cpus; {args.commands:,} orders")
    with tempfile.TemporaryDirectory(prefix="fixex-load-bench-") as work:
        directory = Path(work)
        append_s = write_inputs(directory, args.commands)
        print(f"  venue journal append   {append_s / args.commands * 1e6:8.1f} µs per command")
        started = time.perf_counter()
        records = derive_audit_trail(directory, settings)
        derive_s = time.perf_counter() - started
        print(f"  auditor derivation     {records / derive_s:8,.0f} records/s ({records:,} records, "
              f"{records / args.commands:.1f} per order)")
        _load_sqlite(directory, settings, args.batch)
        try:
            with scratch_database(args.database) as url:
                _load_and_verify(directory, url, settings, args.batch)
        except NoServerError as error:
            print(f"fixex bench: {error}", file=sys.stderr)
            return 2
    return 0


def derive_audit_trail(directory: Path, settings: Settings) -> int:
    """Run the auditor over the input journal in `directory` to its end; return the audit records written."""
    auditor = Auditor(settings, directory, None, fees=FeeSchedule.from_settings(settings), fsync_policy="os")
    try:
        while auditor.run_once(limit=10_000):
            pass
        auditor.writer.flush()
        return auditor.writer.last_seq
    finally:
        auditor.close()


class NoServerError(Exception):
    """The PostgreSQL server for a benchmark's scratch database does not answer (one line, for the user)."""


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at `server_url`, for one benchmark run; dropped on exit, with
    anything still connected to it. Raises NoServerError when it cannot be created."""
    server = make_url(server_url)
    name = f"fixex_bench_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as error:
            raise NoServerError(f"no PostgreSQL at {server.render_as_string(hide_password=True)}: "
                                f"{' '.join(str(error).split())[:200]}") from None
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _load_sqlite(directory: Path, settings: Settings, batch: int) -> None:
    """The same trail into a SQLite file, the embedded default's database."""
    loader = JournalLoader(directory / "audit.jsonl", f"sqlite:///{directory / 'audit.db'}",
                           {i.symbol: i.price_decimals for i in settings.instruments}, batch_size=batch)
    loader._ready_engine()  # as for PostgreSQL: creating the schema is not part of the rate
    started = time.perf_counter()
    loaded = loader.load_available()
    load_s = time.perf_counter() - started
    loader.stop()
    print(f"  loader into SQLite     {loaded / load_s:8,.0f} events/s (rows built in Python, batches of {batch:,})")


def _load_and_verify(directory: Path, url: str, settings: Settings, batch: int) -> None:
    loader = JournalLoader(directory / "audit.jsonl", url, {i.symbol: i.price_decimals
                                                            for i in settings.instruments},
                           batch_size=batch)
    loader._ready_engine()  # connecting and creating the schema are not part of the rate
    started = time.perf_counter()
    loaded = loader.load_available()
    load_s = time.perf_counter() - started
    loader.stop()
    assert loaded == last_journal_seq(directory / "audit.jsonl")
    print(f"  loader into PostgreSQL {loaded / load_s:8,.0f} events/s (COPY of the raw lines, batches of "
          f"{batch:,}; orders, trades, sessions included)")
    started = time.perf_counter()
    result = verify_chain(url)
    verify_s = time.perf_counter() - started
    print(f"  verify in PostgreSQL   {result.checked / verify_s:8,.0f} records/s ({'OK' if result.ok else 'FAILED'})")


if __name__ == "__main__":
    raise SystemExit(main())
