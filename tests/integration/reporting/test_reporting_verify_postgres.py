"""verify_chain on a real PostgreSQL, where the chain is rechecked in Python over one streaming SELECT and the
columns by the database itself: the SQLite tests of tests/unit/reporting/test_reporting_verify.py, and more.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

# The shared tests live next to the SQLite tests; pytest puts only this directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from reporting.journal import entry_hash  # noqa: E402
from reporting.loader import JournalLoader  # noqa: E402
from reporting.schema import ensure_schema, fix_messages  # noqa: E402
from reporting.verify import verify_chain  # noqa: E402
from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: E402,F401 (fixtures)
from reporting_samples import write_journal  # noqa: E402
from test_reporting_verify import (  # noqa: E402,F401 (collected here again, on PostgreSQL)
    _execute,
    test_a_deleted_row_is_a_gap_in_journal_seq,
    test_a_forged_prev_hash_breaks_the_link,
    test_an_edited_body_breaks_its_hash,
    test_an_edited_price_is_found_even_though_prices_are_rescaled,
    test_an_edited_structured_column_no_longer_matches_its_body,
    test_an_intact_trail_verifies_across_both_tables,
)

pytestmark = pytest.mark.postgres


@pytest.fixture()
def loaded_url(tmp_path: Path, scratch_databases: Callable[..., str]) -> str:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = scratch_databases()
    JournalLoader(journal, url, {"AAPL": 4}).load_available()
    return url


def test_the_tests_here_run_on_postgres(loaded_url: str) -> None:
    assert create_engine(loaded_url).dialect.name == "postgresql"


def test_an_empty_postgres_trail_verifies_with_nothing_checked(scratch_databases: Callable[..., str]) -> None:
    engine = create_engine(scratch_databases())
    try:
        ensure_schema(engine)
        assert verify_chain(engine) == verify_chain(engine)
        result = verify_chain(engine)
    finally:
        engine.dispose()
    assert (result.ok, result.checked) == (True, 0)


@pytest.mark.parametrize(("column", "value"), [("raw", "8=FIX.4.4\x0135=F\x01"), ("msg_type", "F"),
                                                ("direction", "inbound")])
def test_an_edited_fix_message_column_no_longer_matches_its_body(loaded_url: str, column: str, value: str) -> None:
    _execute(loaded_url, fix_messages.update().where(fix_messages.c.journal_seq == 7).values({column: value}))
    result = verify_chain(loaded_url)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 6, 7)
    assert result.problem.startswith(f"column {column} is {value!r} but the body says ")


def test_a_body_that_is_not_json_under_a_recomputed_hash_is_named(loaded_url: str) -> None:
    """The database cannot parse such a body; the row-by-row check then says what is wrong with it."""
    engine = create_engine(loaded_url)
    try:
        with engine.connect() as connection:
            prev_hash = connection.execute(select(fix_messages.c.prev_hash)
                                           .where(fix_messages.c.journal_seq == 7)).scalar_one()
    finally:
        engine.dispose()
    body = '{"journal_seq":7,"kind":'
    _execute(loaded_url, fix_messages.update().where(fix_messages.c.journal_seq == 7)
             .values(body=body, hash=entry_hash(prev_hash, body.encode())))
    _execute(loaded_url, fix_messages.update().where(fix_messages.c.journal_seq == 8).values(prev_hash="0" * 64))
    result = verify_chain(loaded_url)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 6, 7)
    assert result.problem.startswith("body is not an audit record")
