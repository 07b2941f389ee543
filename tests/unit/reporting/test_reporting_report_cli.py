"""`fixex report`: formats, files, the database from the config, verify's exit status, and one-line errors (SQLite).

tests/integration/reporting/test_reporting_exports_postgres.py runs the database tests here against PostgreSQL
by giving the fixtures `scenario` and `fresh_scenario` a PostgreSQL database.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from reporting import report_cli
from reporting.report_cli import main, parse_time
from reporting.schema import audit_events
from reporting_export_scenario import LoadedScenario, insert_bulk_trades, load_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> LoadedScenario:
    directory = tmp_path_factory.mktemp("report_cli")
    return load_scenario(directory, f"sqlite:///{directory / 'audit.db'}")


@pytest.fixture()
def fresh_scenario(tmp_path: Path) -> LoadedScenario:
    """The session in a database of its own, for tests that tamper with it."""
    return load_scenario(tmp_path, f"sqlite:///{tmp_path / 'audit.db'}")


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _tamper(url: str, statement) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- exports


def test_csv_goes_to_standard_output_with_a_header_and_the_database_comes_from_the_config(
        capsys: pytest.CaptureFixture[str], scenario: LoadedScenario) -> None:
    status, out, err = _report(capsys, "trades", "--config", str(scenario.config))
    lines = out.splitlines()
    assert (status, err, len(lines)) == (0, "", 5)
    assert lines[0].startswith("trade_id,timestamp,symbol,price,quantity,notional,aggressor_side,buy_firm,")
    assert lines[1] == ("1,2024-03-01T14:30:01.000000000Z,AAPL,190.0000,40,7600.0000,sell,FIRM_A,BROKER1,1,A1,"
                        "maker,-0.152000,FIRM_B,BROKER2,2,B1,taker,0.190000,6,8")


def test_database_on_the_command_line_wins_over_the_config(capsys: pytest.CaptureFixture[str],
                                                           scenario: LoadedScenario) -> None:
    # The shipped config names sqlite:///var/audit.db, which does not exist here.
    status, out, _ = _report(capsys, "bars", "--database", scenario.url)
    assert (status, len(out.splitlines())) == (0, 4)


def test_json_lines_keep_counts_as_numbers_and_prices_and_fees_as_exact_text(
        capsys: pytest.CaptureFixture[str], scenario: LoadedScenario) -> None:
    status, out, _ = _report(capsys, "summary", "--config", str(scenario.config), "--format", "jsonl",
                             "--firm", "FIRM_A", "--symbol", "AAPL")
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [{
        "date": "2024-03-01", "symbol": "AAPL", "scope": "firm", "firm": "FIRM_A", "open": "190.0000",
        "high": "190.1000", "low": "190.0000", "close": "190.1000", "volume": 90, "bought": 90, "sold": 0,
        "trades": 3, "orders_accepted": 3, "orders_replaced": 1, "orders_cancelled": 2, "orders_expired": 0,
        "orders_rejected": 1, "rejects_by_reason": {"18": 1}, "fees": "-0.151970"}]


def test_csv_writes_rejects_by_reason_as_code_colon_count(capsys: pytest.CaptureFixture[str],
                                                          scenario: LoadedScenario) -> None:
    _, out, _ = _report(capsys, "summary", "--config", str(scenario.config), "--symbol", "ZZZZ")
    assert out.splitlines()[1] == "2024-03-01,ZZZZ,symbol,,,,,,0,,,0,0,0,0,0,1,1:1,0.000000"


def test_an_output_file_is_written_whole_and_nothing_goes_to_standard_output(
        capsys: pytest.CaptureFixture[str], scenario: LoadedScenario, tmp_path: Path) -> None:
    target = tmp_path / "rts24.jsonl"
    status, out, err = _report(capsys, "rts24", "--config", str(scenario.config), "--format", "jsonl",
                               "--output", str(target))
    assert (status, out, err) == (0, "", "")
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 24
    assert (records[0]["event_type"], records[0]["event_timestamp"], records[0]["buy_sell"]) == (
        "NEWO", "2024-03-01T14:30:00.000000Z", "BUYI")
    assert list(tmp_path.glob("*.partial")) == []


def test_a_date_alone_in_to_means_through_the_end_of_that_day(capsys: pytest.CaptureFixture[str],
                                                             scenario: LoadedScenario) -> None:
    _, day_one, _ = _report(capsys, "orders", "--config", str(scenario.config), "--to", "2024-03-01")
    _, day_two, _ = _report(capsys, "orders", "--config", str(scenario.config), "--from", "2024-03-02")
    assert (len(day_one.splitlines()) - 1, len(day_two.splitlines()) - 1) == (20, 4)


def test_fixex_report_takes_its_options_before_or_after_the_report_name(capsys: pytest.CaptureFixture[str],
                                                                        scenario: LoadedScenario) -> None:
    from fix_gateway.cli import main as fixex

    assert fixex(["report", "--config", str(scenario.config), "--interval", "1d", "bars"]) == 0
    before = capsys.readouterr().out
    assert fixex(["report", "bars", "--interval", "1d", "--config", str(scenario.config)]) == 0
    assert capsys.readouterr().out == before
    assert before.splitlines()[1].startswith("AAPL,1d,2024-03-01T00:00:00Z,2024-03-02T00:00:00Z,")


# --------------------------------------------------------------------------- verify


def test_verify_of_an_intact_trail_says_ok_and_exits_0(capsys: pytest.CaptureFixture[str],
                                                       scenario: LoadedScenario) -> None:
    assert _report(capsys, "verify", "--config", str(scenario.config)) == (0, "OK: 43 records verified\n", "")


def test_verify_names_the_first_tampered_row_and_exits_1(capsys: pytest.CaptureFixture[str],
                                                         fresh_scenario: LoadedScenario) -> None:
    _tamper(fresh_scenario.url, audit_events.update().where(audit_events.c.journal_seq == 7)
            .values(last_quantity=400))  # FIRM_A's fill in trade 1 made ten times larger
    status, out, err = _report(capsys, "verify", "--database", fresh_scenario.url)
    assert (status, err) == (1, "")
    assert out == ("FAILED: journal_seq 7: column last_quantity is 400 but the body says 40 "
                   "(6 records before it verified)\n")


def test_verify_finds_a_deleted_row(capsys: pytest.CaptureFixture[str], fresh_scenario: LoadedScenario) -> None:
    _tamper(fresh_scenario.url, audit_events.delete().where(audit_events.c.journal_seq == 20))
    status, out, _ = _report(capsys, "verify", "--database", fresh_scenario.url)
    assert (status, out) == (1, "FAILED: journal_seq 21: gap in journal_seq: 21 follows 19 "
                                "(19 records before it verified)\n")


# --------------------------------------------------------------------------- errors: one line, exit 2


@pytest.mark.parametrize(("args", "message"), [
    (["positions"], "unknown report 'positions'; allowed: orders, rts24, trades, bars, summary, verify"),
    (["orders", "--from", "yesterday"], "--from 'yesterday' is not a date or time; use ISO 8601 in UTC"),
    (["orders", "--to", "2024-02-30"], "--to '2024-02-30' is not a date or time"),
    (["orders", "--from", "2024-03-02", "--to", "2024-03-01"], "--from 2024-03-02 is not before --to 2024-03-01"),
    (["orders", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
    (["orders", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "the following arguments are required: KIND"),
    (["orders", "--interval", "1h"], "--interval applies to bars only, not orders"),
    (["bars", "--interval", "2m"], "argument --interval: invalid choice: '2m'"),
    (["verify", "--firm", "FIRM_A"], "verify checks the whole trail; --firm does not apply to it"),
    (["orders", "--database", "mysql://db/audit"], "mysql://db/audit: unsupported database"),
    (["orders", "--database", "not a url"], "'not a url' is not a database URL"),
    (["orders", "--config", "/nonexistent/exchange.yaml"], "/nonexistent/exchange.yaml: <document>: file not found"),
])
def test_a_bad_request_is_one_line_on_stderr_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                                                        message: str) -> None:
    status, out, err = _report(capsys, *args)
    assert (status, out) == (2, "")
    assert err.startswith("fixex report: ") and err.count("\n") == 1, err
    assert message in err


def test_an_unreachable_database_is_one_line_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _report(capsys, "orders", "--database", "postgresql+psycopg://fixex:hunter2@127.0.0.1:1/audit")
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(
        "fixex report: cannot reach the audit database postgresql+psycopg://fixex:***@127.0.0.1:1/audit: ")
    assert "hunter2" not in err


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    missing = tmp_path / "var" / "audit.db"
    status, _, err = _report(capsys, "orders", "--database", f"sqlite:///{missing}")
    assert (status, err) == (2, f"fixex report: no audit database at {missing} (sqlite:///{missing}); "
                                "run where the exchange runs or pass --database\n")
    assert not missing.parent.exists()


def test_a_database_without_the_audit_tables_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    status, _, err = _report(capsys, "verify", "--database", f"sqlite:///{other}")
    assert status == 2
    assert "holds no audit trail (no audit_events, fix_messages table)" in err


def test_a_file_that_is_not_a_database_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text " * 100)
    status, _, err = _report(capsys, "orders", "--database", f"sqlite:///{junk}")
    assert (status, err.count("\n")) == (2, 1)
    assert "cannot reach the audit database" in err and "file is not a database" in err


def test_an_output_file_in_a_missing_directory_is_one_line(capsys: pytest.CaptureFixture[str],
                                                           scenario: LoadedScenario, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir.csv"
    status, out, err = _report(capsys, "orders", "--config", str(scenario.config), "--output", str(target))
    assert (status, out, err) == (2, "", f"fixex report: cannot write {target}: No such file or directory\n")


def test_help_lists_the_reports_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _report(capsys, "--help")
    assert status == 0
    assert "orders (CAT-style order events), rts24" in " ".join(out.split())


@pytest.mark.parametrize(("text", "end", "expected"), [
    ("2024-03-01", False, "2024-03-01T00:00:00+00:00"),
    ("2024-03-01", True, "2024-03-02T00:00:00+00:00"),
    ("2024-03-01T14:30", True, "2024-03-01T14:30:00+00:00"),
    ("2024-03-01T14:30:00.25Z", False, "2024-03-01T14:30:00.250000+00:00"),
    ("2024-03-01T09:30:00-05:00", False, "2024-03-01T14:30:00+00:00"),
])
def test_times_are_iso_8601_in_utc_unless_they_name_an_offset(text: str, end: bool, expected: str) -> None:
    assert parse_time(text, end=end).isoformat() == expected


# --------------------------------------------------------------------------- progress


def _run_with_stderr_on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "reporting.report_cli", *args], stdout=subprocess.PIPE,
                                   stderr=terminal)
        os.close(terminal)
        terminal = -1
        out, _ = process.communicate(timeout=60)
        chunks = []
        while select.select([controller], [], [], 0.5)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
        return process.returncode, out.decode(), b"".join(chunks).decode()
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)


def test_progress_goes_to_stderr_when_it_is_a_terminal(scenario: LoadedScenario) -> None:
    status, out, err = _run_with_stderr_on_a_terminal(["trades", "--config", str(scenario.config)])
    assert (status, len(out.splitlines())) == (0, 5)
    assert re.search(r"fixex report trades: 4 rows written to standard output in \d+\.\d s", err), err


def test_a_long_export_shows_its_rows_rate_and_time_while_it_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    insert_bulk_trades(url, 50_000)  # long enough for a few updates, a quarter of a second apart
    status, out, err = _run_with_stderr_on_a_terminal(["trades", "--database", url])
    assert (status, len(out.splitlines())) == (0, 50_001)
    assert re.search(r"\rfixex report trades: [\d,]+ rows, [\d,]+ rows/s, \d+ s", err), err
    assert re.search(r"\rfixex report trades: 50,000 rows written to standard output in [\d,]+\.\d s", err), err


def test_a_reader_that_stops_early_ends_the_export_quietly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    insert_bulk_trades(url, 5_000)  # far more than a pipe holds
    process = subprocess.Popen([sys.executable, "-m", "reporting.report_cli", "trades", "--database", url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    header = process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    err = process.stderr.read()
    process.wait(timeout=60)
    assert header.startswith(b"trade_id,timestamp,")
    assert (process.returncode, err) == (1, b"")


def test_no_progress_when_stderr_is_not_a_terminal(scenario: LoadedScenario) -> None:
    done = subprocess.run([sys.executable, "-m", "reporting.report_cli", "trades", "--config", str(scenario.config)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr, len(done.stdout.splitlines())) == (0, "", 5)


class TerminalStderr(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_an_export_slow_to_give_its_first_row_shows_the_time_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    # summary and bars on PostgreSQL give nothing until the database has added up the whole window.
    terminal = TerminalStderr()
    monkeypatch.setattr(sys, "stderr", terminal)

    def rows_after_a_wait():
        time.sleep(0.8)
        yield ("2024-03-01", "AAPL")

    progress = report_cli._Progress("summary")
    assert list(progress.count(rows_after_a_wait())) == [("2024-03-01", "AAPL")]
    written = terminal.getvalue()
    assert re.search(r"\rfixex report summary: no rows yet, \d+ s \(the database is reading\)", written), written
    assert progress.rows == 1
    time.sleep(0.4)
    assert terminal.getvalue() == written  # nothing more once the rows are done
