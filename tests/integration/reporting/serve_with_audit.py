"""`fixex serve` as a child process with its audit trail in SQLite or PostgreSQL, for the tests that
kill and restart it. Imported by name, like reporting_postgres_fixtures (see there why not conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fix_client import free_port

REPO = Path(__file__).resolve().parents[3]
FIXEX = [sys.executable, "-c", "from fix_gateway.cli import main; raise SystemExit(main())"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path: Path) -> str:
    """The embedded SQLite default, then a scratch PostgreSQL database (needs scratch_databases imported)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'audit.db'}"
    return request.getfixturevalue("scratch_databases")()


def serve_config(tmp_path: Path, port: int, database_url: str, market_data_port: int | None = None) -> str:
    """The shipped config on free ports (order entry on `port`), auditing into `database_url`."""
    path = tmp_path / "exchange.yaml"
    path.write_text((REPO / "config" / "exchange.yaml").read_text()
                    .replace("port: 9876", f"port: {port}").replace("port: 9877", f"port: {free_port()}")
                    .replace("port: 9878", f"port: {market_data_port or free_port()}")
                    .replace("sessions_file: sessions.cfg", f"sessions_file: {REPO / 'sessions.cfg'}")
                    .replace("url: sqlite:///var/audit.db", f'url: "{database_url}"'))
    assert database_url in path.read_text()
    return str(path)


def start_serve(config: str, cwd: Path) -> subprocess.Popen:
    """`fixex serve` once it says it is ready; what it printed if it never does."""
    process = subprocess.Popen([*FIXEX, "serve", "--config", config], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "ready;" in line:
            return process
        if not line:
            break
    process.kill()
    pytest.fail("fixex serve did not start: " + "".join(lines))
