from pathlib import Path

import pytest

from config import load_settings
from fix_gateway.sessions import SessionsFileError, load_sessions

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def settings():
    return load_settings(REPO / "config" / "exchange.yaml")


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "sessions.cfg"
    path.write_text(text)
    return path


SHIPPED = (REPO / "sessions.cfg").read_text()


def test_the_shipped_sessions_file_defines_every_configured_session_with_its_version(settings):
    sessions = load_sessions(REPO / "sessions.cfg", settings)
    versions = {s.target_comp_id: s.version for s in sessions.sessions}
    assert versions == {
        "BROKER1": "FIX.4.4", "BROKER2": "FIX.4.4", "BROKER3": "FIX.4.2", "BROKER4": "FIX.5.0SP2",
        "MDCLIENT1": "FIX.4.4", "MDCLIENT2": "FIX.5.0SP2", "DROPCOPY1": "FIX.4.4",
    }
    assert sessions.defaults["FileStorePath"] == "var/store"


def test_a_session_without_a_firm_names_the_file_line_and_where_to_add_it(settings, tmp_path):
    path = write(tmp_path, SHIPPED + "\n[SESSION]\nBeginString=FIX.4.4\nTargetCompID=STRANGER\nDataDictionary=FIX44.xml\n")
    with pytest.raises(SessionsFileError) as caught:
        load_sessions(path, settings)
    message = str(caught.value)
    assert str(path) in message and "STRANGER" in message and "firms.<FIRM>.sessions" in message


def test_a_configured_session_missing_from_the_file_is_an_error(settings, tmp_path):
    path = write(tmp_path, SHIPPED.replace("TargetCompID=DROPCOPY1", "TargetCompID=BROKER1"))
    with pytest.raises(SessionsFileError, match="already defined"):
        load_sessions(path, settings)
    trimmed = SHIPPED.split("# --- drop copy")[0]
    with pytest.raises(SessionsFileError, match="DROPCOPY1 are configured in .* but have no \\[SESSION\\]"):
        load_sessions(write(tmp_path, trimmed), settings)


@pytest.mark.parametrize("key, yaml_key", [
    ("SocketAcceptPort=9999", "fix.port"), ("SocketAcceptHost=0.0.0.0", "fix.host"),
    ("SenderCompID=OTHER", "fix.sender_comp_id"),
])
def test_settings_owned_by_the_yaml_config_are_refused_with_the_key_to_use(settings, tmp_path, key, yaml_key):
    path = write(tmp_path, SHIPPED.replace("[DEFAULT]\n", f"[DEFAULT]\n{key}\n"))
    with pytest.raises(SessionsFileError, match=f"line 13: .* is set by {yaml_key}"):
        load_sessions(path, settings)


@pytest.mark.parametrize("edit, words", [
    (("BeginString=FIX.4.2", "BeginString=FIX.4.3"), "allowed: FIX.4.2, FIX.4.4, FIXT.1.1"),
    (("DefaultApplVerID=FIX.5.0SP2\nTransportDataDictionary=FIXT11.xml\nAppDataDictionary=FIX50SP2.xml\n\n# --- market",
      "TransportDataDictionary=FIXT11.xml\nAppDataDictionary=FIX50SP2.xml\n\n# --- market"), "needs DefaultApplVerID"),
    (("TargetCompID=BROKER2\nDataDictionary=FIX44.xml", "TargetCompID=BROKER2"), "DataDictionary is missing"),
    (("\n[DEFAULT]\n", "\n[DEFAULTS]\n"), "unknown section"),
    (("ResetOnLogon=N", "ResetOnLogon"), "expected Key=Value"),
    (("ConnectionType=acceptor", "ConnectionType=initiator"), "must be acceptor"),
])
def test_malformed_sessions_files_are_refused_with_a_reason(settings, tmp_path, edit, words):
    old, new = edit
    assert old in SHIPPED
    with pytest.raises(SessionsFileError, match=words):
        load_sessions(write(tmp_path, SHIPPED.replace(old, new, 1)), settings)


def test_a_missing_sessions_file_is_one_clear_error(settings, tmp_path):
    with pytest.raises(SessionsFileError, match="cannot read it"):
        load_sessions(tmp_path / "nope.cfg", settings)
