"""A real PostgreSQL for the audit trail tests: scratch databases, dropped afterwards.

Not a conftest.py on purpose: tests here run in pytest's default "prepend" import mode
without __init__.py files, so a second conftest.py would replace the `conftest` module
that tests/integration/test_sessions.py and test_tls.py import REPO from. Test modules
import these fixtures by name instead.

The server is FIXEX_TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
scratch databases named fixex_test_<random> are created through it and dropped afterwards.
When no server answers, the tests skip loudly, except under CI=true, where they fail:
CI must never pass by silently testing nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_url() -> URL:
    return make_url(os.environ.get("FIXEX_TEST_DATABASE_URL", DEFAULT_URL))


@pytest.fixture(scope="session")
def postgres_server() -> URL:
    """The server's URL; skips (locally) or fails (CI=true) when it does not answer."""
    url = _admin_url()
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # any failure to reach the server decides the same way
        reason = (f"NO POSTGRESQL at {url.render_as_string(hide_password=True)} "
                  f"(FIXEX_TEST_DATABASE_URL): {type(err).__name__}: {' '.join(str(err).split())[:200]}")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(f"{reason}; Postgres tests SKIPPED")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def scratch_databases(postgres_server: URL) -> Iterator[Callable[..., str]]:
    """A factory: make_database() -> URL of a new, empty fixex_test_<random> database.

    make_database(create=False) only names one (connecting fails until it exists, which
    simulates an outage); `make_database.create_database(name)` brings it up later.
    Every database named here is dropped at the end of the session.
    """
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def create_database(name: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

    def make_database(create: bool = True) -> str:
        name = f"fixex_test_{secrets.token_hex(6)}"
        names.append(name)
        if create:
            create_database(name)
        return postgres_server.set(database=name).render_as_string(hide_password=False)

    make_database.create_database = create_database  # type: ignore[attr-defined]
    try:
        yield make_database
    finally:
        with admin.connect() as connection:
            # Every connection to them first, waiting up to 5 s each: a DROP DATABASE waits for every
            # backend on the server to accept a signal barrier, and a backend left inside COPY FROM STDIN
            # by a client that stopped sending never does (PostgreSQL 15). Seen once in CI: one stalled
            # COPY held the teardown for 16 minutes.
            connection.execute(text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                                    "WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"), {"names": names})
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture()
def database_url(scratch_databases: Callable[..., str]) -> str:
    """A fresh, empty database for one test."""
    return scratch_databases()
