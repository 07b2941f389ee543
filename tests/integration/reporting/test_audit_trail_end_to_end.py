"""The audit trail end to end: `fixex serve` killed with SIGKILL mid-load, restarted, nothing lost.

A real exchange process, a real QuickFIX broker, the auditor child process and the
database (the embedded SQLite default, and a real Postgres).
"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import create_engine, func, select

from fix_client import FixClient, free_port
from reporting.schema import audit_events, fix_messages
from reporting.verify import verify_chain
from reporting_postgres_fixtures import postgres_server, scratch_databases  # noqa: F401 (fixtures)
from serve_with_audit import database_url, serve_config, start_serve  # noqa: F401 (database_url: a fixture)

ORDERS = 400
ACKNOWLEDGED_FIRST = 20


def test_every_acknowledged_order_survives_a_kill_9_in_the_book_and_in_the_audit_trail(
        tmp_path: Path, database_url: str) -> None:
    port = free_port()
    config = serve_config(tmp_path, port, database_url)
    process = start_serve(config, tmp_path)
    broker = FixClient("BROKER1", "FIX.4.4", port, tmp_path).start()
    acknowledged: dict[str, str] = {}  # ClOrdID -> OrderID
    try:
        for n in range(ORDERS):
            # Resting orders on both sides that never cross: every one stays in the book.
            side, price = ("1", f"{180 + n % 5}.00") if n % 2 else ("2", f"{200 + n % 5}.00")
            broker.new_order(f"K{n}", side, 1 + n % 7, price, tif="1")  # GTC
            if n == ACKNOWLEDGED_FIRST - 1:  # some surely acknowledged before the kill, however slow the host
                for report in broker.reports(ACKNOWLEDGED_FIRST, timeout=30):
                    acknowledged[report["11"]] = report["37"]
            if n == ORDERS // 2:
                process.send_signal(signal.SIGKILL)
                break
        # Whatever was acknowledged before the kill, however many that is.
        while True:
            try:
                report = broker.next("8", timeout=2)
            except AssertionError:
                break
            assert report["150"] == "0"
            acknowledged[report["11"]] = report["37"]
    finally:
        broker.stop()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert len(acknowledged) >= ACKNOWLEDGED_FIRST

    process = start_serve(config, tmp_path)  # the restart: replay, then the auditor catches up
    broker = FixClient("BROKER1", "FIX.4.4", port, tmp_path).start()
    try:
        for client_order_id in list(acknowledged)[:: max(1, len(acknowledged) // 20)]:
            broker.status(client_order_id)
            status = broker.next("8")
            assert (status["150"], status["39"], status["37"]) == ("I", "0", acknowledged[client_order_id])
    finally:
        broker.stop()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "audit database up to date" in output, output

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            accepted = dict(connection.execute(
                select(audit_events.c.client_order_id, audit_events.c.order_id)
                .where(audit_events.c.kind == "order_accepted", audit_events.c.session == "BROKER1")).all())
            received = connection.execute(
                select(func.count()).where(audit_events.c.kind == "order_received")).scalar()
            raw_orders = connection.execute(
                select(func.count()).where(fix_messages.c.raw.contains("\x0135=D\x01"))).scalar()
    finally:
        engine.dispose()
    missing = {c for c in acknowledged if c not in accepted}
    assert not missing, f"acknowledged but not audited: {sorted(missing)[:10]}"
    assert all(str(accepted[c]) == acknowledged[c] for c in acknowledged)
    assert received == len(accepted)  # each order once: nothing doubled by the restart
    assert raw_orders >= len(acknowledged)
    result = verify_chain(database_url)
    assert result.ok, result
