"""The export benchmark builds a trail of the size asked for in a real PostgreSQL and times every export over it."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL

from reporting import export_bench
from reporting_postgres_fixtures import postgres_server  # noqa: F401 (fixture)


def test_the_export_benchmark_copies_a_real_trail_up_to_the_rows_asked_for_and_exports_all_of_it(
        capsys, postgres_server: URL) -> None:
    server = postgres_server.render_as_string(hide_password=False)
    assert export_bench.main(["--rows", "3000", "--seed-orders", "200", "--database", server]) == 0
    out = capsys.readouterr().out
    # 200 orders trading in pairs: 400 order events, 100 trades and 201 other records; copied to 5 times that.
    assert "701 rows from 200 orders, copied to 3,505" in out
    rows = {(m["kind"], m["scope"]): int(m["rows"].replace(",", ""))
            for m in re.finditer(r"^  (?P<kind>\w+)\s+(?P<scope>first tenth|all)\s+(?P<rows>[\d,]+)\s", out, re.M)}
    assert rows[("orders", "all")] == rows[("rts24", "all")] == 2_000
    assert rows[("trades", "all")] == 500
    assert rows[("orders", "first tenth")] == 400  # the first of the five copies
    assert rows[("bars", "all")] >= 5 and rows[("summary", "all")] >= 2  # each copy an hour later
    assert "failed" not in out
