"""orders, trades, sessions and fix_messages.msg_type on a real PostgreSQL, where the loader fills them in SQL.

The tests are those of tests/unit/reporting/test_reporting_derived_tables.py (Python on SQLite), run here
with PostgreSQL databases: the same expected rows, column by column, from the other implementation.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The shared tests live next to the SQLite tests; pytest puts only this directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: E402,F401 (fixtures)
from test_reporting_derived_tables import (  # noqa: E402,F401 (collected here again, on PostgreSQL)
    loaded,
    test_an_upgrade_from_schema_version_1_fills_the_new_tables_from_the_trail,
    test_fix_messages_carry_their_msg_type,
    test_orders_hold_each_order_as_its_latest_event_left_it,
    test_reloading_or_loading_in_small_batches_doubles_nothing,
    test_rows_lost_from_the_end_come_back_without_doubling_the_tables_built_from_them,
    test_sessions_hold_each_logon_logout_and_session_reject,
    test_the_new_tables_have_their_indexes,
    test_trades_hold_both_sides_with_their_orders_sessions_liquidity_and_fees,
)

pytestmark = pytest.mark.postgres


@pytest.fixture()
def database_url(scratch_databases: Callable[..., str]) -> str:
    return scratch_databases()


@pytest.fixture()
def other_database_url(scratch_databases: Callable[..., str]) -> str:
    return scratch_databases()


def test_the_tests_here_run_on_postgres(database_url: str) -> None:
    assert database_url.startswith("postgresql")
