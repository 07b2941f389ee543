"""The benchmark's ceiling, QuickFIX alone, answers as a venue would: spec-valid reports, nothing else."""

import pytest

from config import load_settings
from fix_gateway.gateway import with_port
from fix_gateway.reference_acceptor import ReferenceAcceptor
from fix_gateway.sessions import load_sessions
from fix_client import FixClient, free_port
from conftest import REPO


@pytest.fixture
def reference(request, tmp_path):
    persistence = getattr(request, "param", "file")
    settings = with_port(load_settings(REPO / "config" / "exchange.yaml"), free_port(), market_data_port=free_port())
    acceptor = ReferenceAcceptor(settings, load_sessions(REPO / "sessions.cfg", settings), work_dir=tmp_path,
                                 persistence=persistence)
    acceptor.start_acceptor()
    clients: list[FixClient] = []
    yield acceptor, settings.fix.port, clients
    for client in clients:
        client.stop()
    acceptor.stop_acceptor()
    for client in clients:
        assert client.rejects_sent == [], f"{client.comp_id} rejected messages we sent: {client.rejects_sent}"


@pytest.mark.parametrize("comp_id, version", [("BROKER1", "FIX.4.4"), ("BROKER3", "FIX.4.2"),
                                              ("BROKER4", "FIX.5.0SP2")])
def test_every_new_order_gets_a_new_execution_report_that_the_brokers_dictionary_accepts(reference, tmp_path,
                                                                                          comp_id, version):
    _acceptor, port, clients = reference
    client = FixClient(comp_id, version, port, tmp_path)
    clients.append(client)
    client.start()
    for n in range(3):
        client.new_order(f"ref-{n}", "1", 100 + n, "189.50")
    reports = client.reports(3)
    assert [(r["11"], r["39"], r["38"], r["151"], r["44"]) for r in reports] == [
        (f"ref-{n}", "0", str(100 + n), str(100 + n), "189.50") for n in range(3)]
    assert len({r["37"] for r in reports}) == 3


@pytest.mark.parametrize("reference", ["memory"], indirect=True)
def test_with_a_memory_store_and_no_log_it_answers_the_same_and_writes_no_files(reference, tmp_path):
    acceptor, port, clients = reference
    client = FixClient("BROKER1", "FIX.4.4", port, tmp_path)
    clients.append(client)
    client.start()
    client.new_order("mem-1", "2", 5, "190.01")
    report = client.next("8")
    assert (report["11"], report["39"], report["54"], report["151"]) == ("mem-1", "0", "2", "5")
    assert not acceptor.message_log_directory.exists() or not any(acceptor.message_log_directory.iterdir())


def test_anything_but_a_new_order_is_refused_as_unsupported(reference, tmp_path):
    _acceptor, port, clients = reference
    client = FixClient("BROKER1", "FIX.4.4", port, tmp_path)
    clients.append(client)
    client.start()
    client.status("nothing-here")
    reject = client.next("j")
    assert reject["380"] == "3"  # BusinessRejectReason: unsupported message type


def test_a_persistence_it_does_not_know_is_refused_by_name(tmp_path):
    settings = load_settings(REPO / "config" / "exchange.yaml")
    with pytest.raises(ValueError, match="persistence must be one of file, memory, not 'disk'"):
        ReferenceAcceptor(settings, load_sessions(REPO / "sessions.cfg", settings), work_dir=tmp_path,
                          persistence="disk")
