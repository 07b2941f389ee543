"""Export benchmark: `fixex bench -- --exports`.

Builds an audit trail of a given size in a scratch PostgreSQL database (dropped afterwards), then runs
every `fixex report` export over all of it, and over its first tenth, as the separate processes an
operator would run, and prints rows, seconds, rows/s and each process's peak resident memory.

The trail: a real one first (an input journal of resting buys and sells that trade with them, through
the auditor and the loader), then copied in the database, each copy later in time and with its own
order, trade and sequence numbers, until it holds the rows asked for. The copies do not chain (verify
is not part of this benchmark); the exports do not read the chain.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from config import load_settings
from reporting.load_bench import DEFAULT_DATABASE, NoServerError, derive_audit_trail, scratch_database, write_inputs
from reporting.loader import JournalLoader
from reporting.schema import audit_events

__all__ = ["main"]

KINDS = ("orders", "rts24", "trades", "bars", "summary")
COPY_SPACING_S = 3600  # each copy of the seed trail starts an hour after the one before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fixex bench -- --exports", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="audit_events rows in the trail (default %(default)s; the issue's scale is 10000000)")
    parser.add_argument("--seed-orders", type=int, default=20_000,
                        help="orders in the real trail that is copied up to --rows (default %(default)s)")
    parser.add_argument("--database", default=DEFAULT_DATABASE,
                        help="PostgreSQL server to create a scratch database on (default: %(default)s)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="exports to run (default %(default)s)")
    args = parser.parse_args(argv)
    kinds = [kind for kind in args.kinds.split(",") if kind]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"--kinds: unknown {', '.join(unknown)}; allowed: {', '.join(KINDS)}")
    if args.rows < 1 or args.seed_orders < 2:
        parser.error("--rows must be at least 1 and --seed-orders at least 2 (orders trade in pairs)")
    print(f"export benchmark: python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus; "
          f"{args.rows:,} audit rows")
    try:
        with scratch_database(args.database) as url, tempfile.TemporaryDirectory(prefix="fixex-export-bench-") as work:
            directory = Path(work)
            seed_rows = _seed_trail(directory, url, args.seed_orders)
            engine = create_engine(url)
            try:
                started = time.perf_counter()
                rows, first_tenth_end = _grow(engine, seed_rows, args.rows)
                print(f"  trail: {seed_rows:,} rows from {args.seed_orders:,} orders, copied to {rows:,} "
                      f"in {time.perf_counter() - started:,.0f} s")
            finally:
                engine.dispose()
            print(f"  {'export':8} {'scope':>11} {'rows':>12} {'seconds':>8} {'rows/s':>8} {'peak RSS MiB':>13}"
                  f" {'output MiB':>11}")
            for kind in kinds:
                for scope, end in (("first tenth", first_tenth_end), ("all", None)):
                    _time_export(kind, scope, url, end, directory)
    except NoServerError as error:
        print(f"fixex bench: {error}", file=sys.stderr)
        return 2
    return 0


def _seed_trail(directory: Path, url: str, orders: int) -> int:
    """A real trail: input journal, auditor, loader. Returns its audit_events rows."""
    settings = load_settings()
    write_inputs(directory, orders)
    derive_audit_trail(directory, settings)
    loader = JournalLoader(directory / "audit.jsonl", url, {i.symbol: i.price_decimals for i in settings.instruments},
                           batch_size=5_000)
    try:
        return loader.load_available()
    finally:
        loader.stop()


def _grow(engine: Engine, seed_rows: int, rows: int) -> tuple[int, str]:
    """Copy the seed trail until audit_events holds at least `rows`; return the count and the ISO time at
    which the first tenth of them ends."""
    columns = [column.name for column in audit_events.columns]
    with engine.connect() as connection:
        spans = connection.execute(text(
            "SELECT max(journal_seq), max(sequence), max(order_id), max(trade_id), max(command_seq), "
            "max(timestamp_ns) - min(timestamp_ns) FROM audit_events")).one()
    seq_span, sequence_span, order_span, trade_span, command_span, time_span_ns = spans
    spacing_s = max(COPY_SPACING_S, time_span_ns // 10**9 + 2)  # whole seconds: both time columns move alike
    spacing_ns = spacing_s * 10**9
    # Numbers that must stay unique move by the seed's span times the copy's number, times by spacing_s.
    shifted = {
        "journal_seq": f"journal_seq + {seq_span} * k",
        "sequence": f"sequence + {sequence_span or 0} * k",
        "order_id": f"order_id + {order_span or 0} * k",
        "trade_id": f"trade_id + {trade_span or 0} * k",
        "command_seq": f"command_seq + {command_span or 0} * k",
        "timestamp_ns": f"timestamp_ns + {spacing_ns}::bigint * k",
        "timestamp": f"timestamp + make_interval(secs => {spacing_s}) * k",
    }
    select_list = ", ".join(shifted.get(name, f'"{name}"') for name in columns)
    insert_list = ", ".join(f'"{name}"' for name in columns)
    copies = -(-rows // seed_rows) - 1
    step = max(1, 2_000_000 // seed_rows)  # a few million rows per statement
    with engine.connect() as connection:
        for first in range(1, copies + 1, step):
            last = min(copies, first + step - 1)
            connection.execute(text(
                f"INSERT INTO audit_events ({insert_list}) "
                f"SELECT {select_list} FROM audit_events, generate_series({first}, {last}) AS k "
                f"WHERE journal_seq <= {seq_span}"))
            connection.commit()
        connection.execute(text("ANALYZE audit_events"))
        connection.commit()
        total = connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        # The first tenth ends where a copy starts: copies are spacing_s apart, so the boundary is exact.
        tenth = connection.execute(text(
            "SELECT to_char((min(timestamp) + make_interval(secs => :s)) AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit_events"),
            {"s": spacing_s * max(1, round((copies + 1) / 10))}).scalar_one()
    return total, tenth


def _time_export(kind: str, scope: str, url: str, end: str | None, directory: Path) -> None:
    output = directory / f"{kind}.csv"
    arguments = ["report", kind, "--database", url, "--output", str(output), *([] if end is None else ["--to", end])]
    # The child reports its own high-water mark: a forked child's rusage would count the parent's memory too.
    program = ("import sys\nfrom fix_gateway.cli import main\ncode = main(sys.argv[1:])\n"
               "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
               "print(peak, file=sys.stderr)\nsys.exit(code)")
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-c", program, *arguments], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    lines = finished.stderr.strip().splitlines()
    if finished.returncode != 0 or not lines:
        print(f"  {kind:8} {scope:>11} failed: {' '.join(lines)[:300]}")
        return
    peak_mib = int(lines[-1]) / 1024
    with open(output, "rb") as stream:
        rows = sum(1 for _ in stream) - 1  # the header
    size_mib = output.stat().st_size / 2**20
    output.unlink()
    print(f"  {kind:8} {scope:>11} {rows:>12,} {elapsed:>8,.1f} {rows / elapsed:>8,.0f} {peak_mib:>13,.0f}"
          f" {size_mib:>11,.0f}")


if __name__ == "__main__":
    raise SystemExit(main())
