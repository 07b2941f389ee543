"""TLS: with a server certificate in sessions.cfg the acceptor speaks only TLS.

The quickfix wheel may be built without OpenSSL; then start-up must say so in one
line, and the trading checks run only where the build supports TLS.
"""

import subprocess

import pytest

from conftest import REPO, Venue
from fix_client import FixClient
from fix_gateway.sessions import SessionsFileError


@pytest.fixture
def tls_venue(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(tmp_path / "server.key"), "-out", str(tmp_path / "server.crt")],
                   check=True, capture_output=True)
    sessions = tmp_path / "sessions.cfg"
    sessions.write_text((REPO / "sessions.cfg").read_text().replace(
        "\n[DEFAULT]\n", "\n[DEFAULT]\nServerCertificateFile=server.crt\nServerCertificateKeyFile=server.key\n"
                         "SSLProtocol=+TLSv1_2 +TLSv1_3\n", 1))
    venue = Venue(tmp_path, sessions_path=sessions)
    assert venue.gateway.tls
    try:
        venue.gateway.start()
    except SessionsFileError as error:
        assert "no SSL support" in str(error) and "ServerCertificateFile" in str(error) and str(sessions) in str(error)
        pytest.skip(f"this quickfix build has no TLS (start-up refused it clearly: {error})")
    yield venue
    venue.stop()


def test_a_tls_client_logs_on_and_trades(tls_venue):
    client = tls_venue.client("BROKER1", "FIX.4.4", tls=True)
    client.new_order("T1", "1", 10, "100.00")
    assert client.next("8")["150"] == "0"


def test_a_plain_text_client_cannot_log_on_to_the_tls_acceptor(tls_venue, tmp_path):
    plain = FixClient("BROKER2", "FIX.4.4", tls_venue.port, tmp_path)
    tls_venue.clients.append(plain)
    plain.start(expect_logon=False)
    with pytest.raises(AssertionError):
        plain.wait_until(lambda: plain.logged_on, 3, "no logon")
