"""The market_data section and the per-session market_data permission."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings

SHIPPED = Path(__file__).resolve().parents[3] / "config" / "exchange.yaml"


def config_with(tmp_path, extra: str = "", broker_line: str | None = None) -> Path:
    text = SHIPPED.read_text()
    if broker_line is not None:
        text = text.replace("      BROKER1: {role: order_entry, cancel_on_disconnect: true}", broker_line)
    path = tmp_path / "exchange.yaml"
    path.write_text(text + extra)
    return path


def test_the_shipped_config_holds_a_subscriber_after_2000_unread_messages_and_logs_it_out_after_10s():
    settings = load_settings(SHIPPED)
    assert settings.market_data.max_unread_messages == 2000
    assert settings.market_data.stuck_logout_seconds == 10
    assert settings.market_data.batch_milliseconds == 1


def test_order_entry_sessions_may_not_subscribe_unless_configured_and_market_data_sessions_always_may(tmp_path):
    settings = load_settings(SHIPPED)
    assert not settings.session("BROKER1").may_subscribe
    assert settings.session("MDCLIENT1").may_subscribe
    assert not settings.session("DROPCOPY1").may_subscribe
    allowed = load_settings(config_with(
        tmp_path, broker_line="      BROKER1: {role: order_entry, market_data: true}"))
    assert allowed.session("BROKER1").may_subscribe


@pytest.mark.parametrize("key, value, words", [
    ("max_unread_messages", "5", "max_unread_messages"),
    ("stuck_logout_seconds", "0", "stuck_logout_seconds"),
    ("max_unread", "100", "max_unread"),
])
def test_a_bad_market_data_setting_stops_start_up_naming_the_key(tmp_path, key, value, words):
    text = SHIPPED.read_text().replace("  max_unread_messages: 2000", f"  {key}: {value}")
    path = tmp_path / "exchange.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert words in str(error.value) and "exchange.yaml" in str(error.value)


@pytest.mark.parametrize("value", ["0", "1001", "'fast'"])
def test_a_publisher_batch_outside_1_to_1000_ms_stops_start_up_naming_the_key_and_the_range(tmp_path, value):
    text = SHIPPED.read_text().replace("  batch_milliseconds: 1 ", f"  batch_milliseconds: {value} ")
    assert f"batch_milliseconds: {value}" in text
    path = tmp_path / "exchange.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert "market_data.batch_milliseconds" in message or "batch_milliseconds" in message
    assert "exchange.yaml" in message and "1000" in message


def test_a_publisher_batch_of_5_ms_is_taken(tmp_path):
    path = tmp_path / "exchange.yaml"
    path.write_text(SHIPPED.read_text().replace("  batch_milliseconds: 1 ", "  batch_milliseconds: 5 "))
    assert load_settings(path).market_data.batch_milliseconds == 5
