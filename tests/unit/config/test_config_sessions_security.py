from pathlib import Path

import pytest

from config import ConfigError, load_settings
from fix_gateway.auth import hash_password

SHIPPED = (Path(__file__).resolve().parents[3] / "config" / "exchange.yaml").read_text()


def load(tmp_path, text):
    path = tmp_path / "exchange.yaml"
    path.write_text(text)
    return load_settings(path)


def test_a_session_password_hash_is_loaded_and_never_shown_in_repr(tmp_path):
    stored = hash_password("pw")
    settings = load(tmp_path, SHIPPED.replace("BROKER1: {role: order_entry, cancel_on_disconnect: true}",
                                              f'BROKER1: {{role: order_entry, password_hash: "{stored}"}}'))
    session = settings.session("BROKER1")
    assert session.password_hash == stored
    assert stored not in repr(session) and "password=set" in repr(session)


def test_a_plain_password_in_place_of_a_hash_is_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, SHIPPED.replace("BROKER1: {role: order_entry, cancel_on_disconnect: true}",
                                       "BROKER1: {role: order_entry, password_hash: hunter2}"))
    assert caught.value.key == "firms.FIRM_A.sessions.BROKER1.password_hash"
    assert "fixex hash-password" in str(caught.value) and "hunter2" not in str(caught.value)


def test_drop_copy_firms_name_known_firms_on_drop_copy_sessions_only(tmp_path):
    settings = load(tmp_path, SHIPPED.replace("DROPCOPY1: {role: drop_copy, cancel_on_disconnect: false}",
                                              "DROPCOPY1: {role: drop_copy, drop_copy_firms: [FIRM_A, FIRM_B]}"))
    assert settings.session("DROPCOPY1").drop_copy_firms == ("FIRM_A", "FIRM_B")
    assert load(tmp_path, SHIPPED).session("DROPCOPY1").drop_copy_firms is None
    with pytest.raises(ConfigError, match="unknown firm 'FIRM_Q'"):
        load(tmp_path, SHIPPED.replace("DROPCOPY1: {role: drop_copy, cancel_on_disconnect: false}",
                                       "DROPCOPY1: {role: drop_copy, drop_copy_firms: [FIRM_Q]}"))
    with pytest.raises(ConfigError, match="only a drop_copy session"):
        load(tmp_path, SHIPPED.replace("BROKER1: {role: order_entry, cancel_on_disconnect: true}",
                                       "BROKER1: {role: order_entry, drop_copy_firms: [FIRM_A]}"))
