"""`fixex report KIND`: export the audit trail from the database, or verify its hash chain.

    fixex report orders|rts24|trades|bars|summary [--from T] [--to T] [--firm F] [--symbol S]
                 [--format csv|jsonl] [--output FILE|-] [--interval 1m|5m|1h|1d] [--database URL] [--config PATH]
    fixex report verify [--database URL] [--config PATH]

The database is --database, else `database.url` of the config file. Rows go to
standard output (or --output FILE, written whole or not at all); progress goes to
standard error, and only when that is a terminal. Exit status: 0 done (verify: the
chain is intact), 1 verify found a broken record, 2 the request or the database was
unusable (one line on standard error saying why).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, NoReturn

from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from config import DEFAULT_CONFIG_PATH, ConfigError, load_settings
from reporting.exports import BAR_INTERVALS, EXPORT_KINDS, Export, ExportFilters, run_export
from reporting.verify import verify_chain

__all__ = ["FORMATS", "KINDS", "ReportError", "main", "parse_time"]

KINDS: tuple[str, ...] = (*EXPORT_KINDS, "verify")
FORMATS: tuple[str, ...] = ("csv", "jsonl")
_PROGRAM = "fixex report"
_PROGRESS_EVERY = 0.25  # seconds between progress updates on a terminal


class ReportError(Exception):
    """A request or database the report cannot use; its text is the one line the user sees."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        raise ReportError(f"{message} (see `{_PROGRAM} --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_PROGRAM,
        description="Export the compliance audit trail from the audit database, or verify its hash chain.",
        epilog="KIND: orders (CAT-style order events), rts24 (MiFID II RTS 24 order records), trades (the "
               "blotter), bars (OHLCV candles), summary (per day, symbol and firm), verify (recheck the hash "
               "chain). Times are UTC: --from is inclusive, --to exclusive, and a date alone in --to means "
               "through the end of that day. Exit status: 0 done, 1 verify found a broken record, 2 error.")
    parser.add_argument("kind", metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    parser.add_argument("--database", metavar="URL",
                        help="audit database URL (default: database.url from the config file)")
    parser.add_argument("--config", metavar="PATH", default=str(DEFAULT_CONFIG_PATH),
                        help="YAML settings file (default: %(default)s)")
    parser.add_argument("--from", dest="start", metavar="T", help="from this UTC date or time, e.g. 2024-03-01")
    parser.add_argument("--to", dest="end", metavar="T", help="until this UTC date (inclusive) or time (exclusive)")
    parser.add_argument("--firm", metavar="F", help="only this firm's events")
    parser.add_argument("--symbol", metavar="S", help="only this symbol's events")
    parser.add_argument("--format", choices=FORMATS, default=None, help="csv (default) or jsonl (JSON Lines)")
    parser.add_argument("--output", metavar="FILE", default=None, help="write here instead of standard output (-)")
    parser.add_argument("--interval", choices=tuple(BAR_INTERVALS), default=None,
                        help="bars only: candle width (default 1m)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return _run(args)
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except (ReportError, ConfigError) as error:
        _say(str(error))
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


def _say(message: str) -> None:
    print(f"{_PROGRAM}: {' '.join(message.split())}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    kind = args.kind
    if kind not in KINDS:
        raise ReportError(f"unknown report {kind!r}; allowed: {', '.join(KINDS)}")
    if args.interval is not None and kind != "bars":
        raise ReportError(f"--interval applies to bars only, not {kind}")
    if kind == "verify":
        given = [f"--{name}" for name in ("from", "to", "firm", "symbol", "format", "output")
                 if getattr(args, "start" if name == "from" else "end" if name == "to" else name) is not None]
        if given:
            raise ReportError(f"verify checks the whole trail; {', '.join(given)} "
                              f"{'does' if len(given) == 1 else 'do'} not apply to it")
    filters = _filters(args)
    settings = load_settings(args.config)
    url = args.database or settings.database.url
    engine = _open_database(url, ("audit_events", "fix_messages") if kind == "verify" else ("audit_events",))
    shown = _shown(url)
    try:
        if kind == "verify":
            return _verify(engine)
        with engine.connect() as connection:
            export = run_export(connection, kind, filters, interval=args.interval or "1m",
                                currencies={i.symbol: i.currency for i in settings.instruments})
            try:
                _write(export, args.format or "csv", args.output or "-")
            finally:
                export.rows.close()  # a reader gone mid-export: close the cursor while its connection is open
        return 0
    except sa_exc.SQLAlchemyError as error:
        raise ReportError(f"reading the audit database {shown} failed: {_first_line(error)}") from None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the request

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_time(text: str, *, end: bool = False) -> datetime:
    """An ISO 8601 date or date-time, UTC unless it names an offset; a date alone as an end means its next midnight."""
    value = text.strip()
    try:
        if _DATE_ONLY.fullmatch(value):
            midnight = datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc)
            return midnight + timedelta(days=1) if end else midnight
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{'--to' if end else '--from'} {text!r} is not a date or time; use ISO 8601 in UTC, "
                          "e.g. 2024-03-01 or 2024-03-01T14:30:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _filters(args: argparse.Namespace) -> ExportFilters:
    start = None if args.start is None else parse_time(args.start)
    end = None if args.end is None else parse_time(args.end, end=True)
    if start is not None and end is not None and start >= end:
        raise ReportError(f"--from {args.start} is not before --to {args.end}: nothing to export")
    return ExportFilters(start=start, end=end, firm=args.firm or None, symbol=args.symbol or None)


# --------------------------------------------------------------------------- the database


def _shown(url: str | URL) -> str:
    try:
        return (url if isinstance(url, URL) else make_url(url)).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return repr(url)


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _open_database(url: str, tables: tuple[str, ...]) -> Engine:
    """An engine on an existing audit database that holds `tables`; ReportError (one line) otherwise.

    A missing SQLite file is an error rather than created empty: a report only reads.
    """
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise ReportError(f"{url!r} is not a database URL; e.g. sqlite:///var/audit.db or "
                          "postgresql+psycopg://user@host/db") from None
    shown = _shown(parsed)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ReportError(f"{shown}: an in-memory database holds no audit trail; name the file")
        if not Path(parsed.database).is_file():
            raise ReportError(f"no audit database at {parsed.database} ({shown}); run where the exchange runs "
                              "or pass --database")
    elif backend == "postgresql":
        connect_args["connect_timeout"] = 5  # an unreachable host fails in seconds
    else:
        raise ReportError(f"{shown}: unsupported database; allowed: a sqlite: or postgresql URL")
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as error:
        raise ReportError(f"cannot use the audit database {shown}: {_first_line(error)}") from None
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            missing = [name for name in tables if not inspector.has_table(name)]
    except sa_exc.SQLAlchemyError as error:
        engine.dispose()
        raise ReportError(f"cannot reach the audit database {shown}: {_first_line(error)}") from None
    if missing:
        engine.dispose()
        raise ReportError(f"{shown} holds no audit trail (no {', '.join(missing)} table); "
                          "is it the database the exchange loads its journal into?")
    return engine


# --------------------------------------------------------------------------- verify and the exports


def _verify(engine: Engine) -> int:
    result = verify_chain(engine)
    if result.ok:
        print(f"OK: {result.checked} records verified")
        return 0
    print(f"FAILED: journal_seq {result.first_bad_seq}: {result.problem} "
          f"({result.checked} records before it verified)")
    return 1


def _write(export: Export, output_format: str, output: str) -> None:
    """All rows to standard output, or to FILE through FILE.partial renamed at the end (never half a file)."""
    started = time.monotonic()
    if output == "-":
        rows = _write_rows(export, output_format, sys.stdout)
        sys.stdout.flush()
        _Progress.finish(export.kind, rows, "standard output", time.monotonic() - started)
        return
    target = Path(output)
    partial = target.with_name(target.name + ".partial")
    try:
        stream = open(partial, "w", encoding="utf-8", newline="")
    except OSError as error:
        raise ReportError(f"cannot write {output}: {error.strerror or error}") from None
    try:
        with stream:
            rows = _write_rows(export, output_format, stream)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _Progress.finish(export.kind, rows, str(target), time.monotonic() - started)


def _write_rows(export: Export, output_format: str, stream: IO[str]) -> int:
    progress = _Progress(export.kind)
    counted = progress.count(export.rows)
    try:
        if output_format == "jsonl":
            columns = export.columns
            dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            for row in counted:
                stream.write(dumps(dict(zip(columns, row))))
                stream.write("\n")
        else:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(export.columns)
            rows: Iterator[tuple[Any, ...]] = counted
            if export.kind == "summary":  # its rejects_by_reason is a dict: "code:count;code:count" in CSV
                rows = (tuple(_csv_cell(value) for value in row) for row in counted)
            writer.writerows(rows)
    finally:
        counted.close()  # on an error too: the progress line stops before the error is told
    return progress.rows


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict):
        return ";".join(f"{key}:{count}" for key, count in value.items())
    return value


class _Progress:
    """Rows written so far, on standard error when it is a terminal; nothing otherwise.

    A thread of its own writes the line every `_PROGRESS_EVERY`, rows or not: `summary` and `bars` on
    PostgreSQL, and any export whose query sorts, give no row until the database has read the whole
    window (24 s for `summary` over 10 million rows), and a silent terminal looks hung.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.rows = 0
        self.enabled = sys.stderr.isatty()
        self._width = 0

    def count(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        if not self.enabled:
            for row in rows:
                self.rows += 1
                yield row
            return
        started = time.monotonic()
        done = threading.Event()
        reporter = threading.Thread(target=self._report, args=(started, done), name="export progress", daemon=True)
        reporter.start()
        try:
            for row in rows:
                self.rows += 1
                yield row
        finally:
            done.set()
            reporter.join()

    def _report(self, started: float, done: threading.Event) -> None:
        while not done.wait(_PROGRESS_EVERY):
            elapsed = time.monotonic() - started
            rows = self.rows
            # A 10-million-row export takes minutes: the rate tells how many more.
            text = (f"{rows:,} rows, {rows / elapsed:,.0f} rows/s, {elapsed:,.0f} s" if rows else
                    f"no rows yet, {elapsed:,.0f} s (the database is reading)")
            self._width = max(self._width, len(text))
            sys.stderr.write(f"\r{_PROGRAM} {self.kind}: {text.ljust(self._width)}  ")
            sys.stderr.flush()

    @staticmethod
    def finish(kind: str, rows: int, where: str, seconds: float) -> None:
        if sys.stderr.isatty():
            # \x1b[K clears what is left of a longer progress line
            sys.stderr.write(f"\r{_PROGRAM} {kind}: {rows:,} rows written to {where} in {seconds:,.1f} s\x1b[K\n")
            sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
