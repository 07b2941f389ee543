"""verify_chain on SQLite: an intact trail verifies; edits, deletions and forged links are found."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func

from reporting.loader import JournalLoader
from reporting.schema import audit_events, ensure_schema, fix_messages
from reporting.verify import verify_chain
from reporting_samples import write_journal


@pytest.fixture()
def loaded_url(tmp_path: Path) -> str:
    journal = tmp_path / "j.jsonl"
    write_journal(journal)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    JournalLoader(journal, url, {"AAPL": 4}).load_available()
    return url


def _execute(url: str, statement) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    finally:
        engine.dispose()


def test_an_intact_trail_verifies_across_both_tables(loaded_url: str) -> None:
    result = verify_chain(loaded_url)
    assert (result.ok, result.checked, result.first_bad_seq, result.problem) == (True, 8, None, "")


def test_an_empty_database_verifies_with_nothing_checked(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    ensure_schema(engine)
    assert (verify_chain(engine).ok, verify_chain(engine).checked) == (True, 0)
    engine.dispose()


def test_an_edited_structured_column_no_longer_matches_its_body(loaded_url: str) -> None:
    _execute(loaded_url, audit_events.update().where(audit_events.c.journal_seq == 4).values(last_quantity=400))
    result = verify_chain(loaded_url)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 3, 4)
    assert "column last_quantity is 400 but the body says 40" in result.problem


def test_an_edited_price_is_found_even_though_prices_are_rescaled(loaded_url: str) -> None:
    _execute(loaded_url, audit_events.update().where(audit_events.c.journal_seq == 3).values(price=Decimal("190.02")))
    result = verify_chain(loaded_url)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "column price" in result.problem


def test_an_edited_body_breaks_its_hash(loaded_url: str) -> None:
    _execute(loaded_url, fix_messages.update().where(fix_messages.c.journal_seq == 2)
             .values(body=func.replace(fix_messages.c.body, "c1", "c2")))
    result = verify_chain(loaded_url)
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 2, "hash does not match the stored body")


def test_a_deleted_row_is_a_gap_in_journal_seq(loaded_url: str) -> None:
    _execute(loaded_url, audit_events.delete().where(audit_events.c.journal_seq == 5))
    result = verify_chain(loaded_url)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 4, 6)
    assert result.problem == "gap in journal_seq: 6 follows 4"


def test_a_forged_prev_hash_breaks_the_link(loaded_url: str) -> None:
    _execute(loaded_url, audit_events.update().where(audit_events.c.journal_seq == 6).values(prev_hash="f" * 64))
    result = verify_chain(loaded_url)
    assert (result.ok, result.first_bad_seq, result.problem) == (
        False, 6, "prev_hash is not the previous entry's hash")
