"""The exports and `fixex report` against a real PostgreSQL: the very tests that run on SQLite, on a server.

The tests are imported from tests/unit/reporting (test_reporting_exports.py, test_reporting_report_cli.py);
the fixtures they ask for (`scenario`, `fresh_scenario`, `blank_audit_url`) are defined here with PostgreSQL
databases, so every export is checked column by column against the same engine session on both databases,
with psycopg's chunked streaming and PostgreSQL's own adding up (bars, summary) here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine

# The shared scenario and tests live next to the SQLite tests; pytest puts only this directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "reporting"))

from reporting.schema import ensure_schema  # noqa: E402
from reporting_export_scenario import LoadedScenario, load_scenario  # noqa: E402
from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: E402,F401 (fixtures)
from test_reporting_exports import (  # noqa: E402,F401 (collected here again, on PostgreSQL)
    test_a_firm_filter_keeps_only_that_firms_order_events,
    test_a_firm_filter_keeps_the_trades_the_firm_was_on_either_side_of,
    test_a_firm_filter_on_the_summary_leaves_only_that_firms_rows,
    test_a_price_on_a_symbol_the_venue_does_not_list_stays_in_integer_units,
    test_a_symbol_filter_keeps_only_that_symbols_order_events,
    test_a_symbol_filter_on_the_summary_leaves_that_symbols_rows,
    test_a_time_window_finds_its_rows_even_where_the_clock_stepped_back_in_journal_order,
    test_a_time_window_includes_its_start_and_excludes_its_end,
    test_an_export_streams_in_constant_memory,
    test_bars_can_be_limited_to_one_firms_trades_and_a_day,
    test_every_export_of_an_empty_trail_has_no_rows,
    test_one_minute_bars_cover_only_the_minutes_with_trades,
    test_orders_give_one_cat_style_row_per_order_event_column_by_column,
    test_rts24_gives_one_record_per_order_event_with_its_codes_column_by_column,
    test_summary_gives_each_days_symbols_and_the_firms_in_them_column_by_column,
    test_times_in_another_zone_are_compared_in_utc,
    test_trades_give_one_blotter_row_per_trade_with_both_sides_and_their_fees,
    test_wider_bars_are_aligned_to_utc_and_hold_all_three_aapl_trades,
)
from test_reporting_report_cli import (  # noqa: E402,F401 (collected here again, on PostgreSQL)
    test_a_date_alone_in_to_means_through_the_end_of_that_day,
    test_an_output_file_is_written_whole_and_nothing_goes_to_standard_output,
    test_csv_goes_to_standard_output_with_a_header_and_the_database_comes_from_the_config,
    test_csv_writes_rejects_by_reason_as_code_colon_count,
    test_database_on_the_command_line_wins_over_the_config,
    test_json_lines_keep_counts_as_numbers_and_prices_and_fees_as_exact_text,
    test_progress_goes_to_stderr_when_it_is_a_terminal,
    test_verify_finds_a_deleted_row,
    test_verify_names_the_first_tampered_row_and_exits_1,
    test_verify_of_an_intact_trail_says_ok_and_exits_0,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, scratch_databases: Callable[..., str]) -> LoadedScenario:
    return load_scenario(tmp_path_factory.mktemp("exports_postgres"), scratch_databases())


@pytest.fixture()
def fresh_scenario(tmp_path: Path, scratch_databases: Callable[..., str]) -> LoadedScenario:
    return load_scenario(tmp_path, scratch_databases())


@pytest.fixture()
def blank_audit_url(scratch_databases: Callable[..., str]) -> str:
    url = scratch_databases()
    engine = create_engine(url)
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()
    return url


def test_the_postgres_scenario_really_is_on_postgres(scenario: LoadedScenario) -> None:
    assert scenario.url.startswith("postgresql+psycopg://")
