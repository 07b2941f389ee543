"""The audit pipeline benchmark runs end to end against a real PostgreSQL and prints its figures."""

from __future__ import annotations

from sqlalchemy.engine import URL

from reporting import load_bench
from reporting_postgres_fixtures import postgres_server  # noqa: F401 (fixture)


def test_the_audit_pipeline_benchmark_times_every_stage_and_verifies_what_it_loaded(capsys,
                                                                                 postgres_server: URL) -> None:
    server = postgres_server.render_as_string(hide_password=False)
    assert load_bench.main(["--commands", "400", "--batch", "100", "--database", server]) == 0
    out = capsys.readouterr().out
    for stage in ("venue journal append", "auditor derivation", "loader into SQLite", "loader into PostgreSQL",
                  "verify in PostgreSQL"):
        assert stage in out
    assert "(OK)" in out and "1,401 records, 3.5 per order" in out
