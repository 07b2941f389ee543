"""Every validation rule: a bad value stops loading with the file, the key path and what is allowed.

Each case starts from a small valid config, changes one key and checks the error.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import ConfigError, load_settings

VALID: dict[str, Any] = {
    "venue": {"name": "FIXEX", "trading_day_end": "21:00"},
    "fix": {"host": "127.0.0.1", "port": 9876, "sender_comp_id": "EXCHANGE", "sessions_file": "sessions.cfg"},
    "metrics": {"host": "127.0.0.1", "port": 9877},
    "database": {"url": "sqlite:///var/audit.db"},
    "instruments": [
        {
            "symbol": "AAPL",
            "tick_size": "0.01",
            "lot_size": 1,
            "currency": "USD",
            "reference_price": "190.00",
            "price_band_tier": 1,
            "price_decimals": 4,
        },
        {
            "symbol": "MSFT",
            "tick_size": "0.01",
            "lot_size": 1,
            "currency": "USD",
            "reference_price": "420.00",
            "price_band_tier": 2,
        },
    ],
    "firms": {
        "FIRM_A": {
            "self_trade_prevention": "cancel_resting",
            "sessions": {"BROKER1": {"role": "order_entry", "cancel_on_disconnect": True}},
        },
        "FIRM_B": {"sessions": {"BROKER2": {}}},
    },
    "risk": {
        "defaults": {"max_order_quantity": 1000000, "max_order_notional": "1000000000"},
        "firms": {"FIRM_A": {"max_order_quantity": 500000}},
    },
}

_DELETE = object()


def _set_at(document: dict[str, Any], key_path: str, value: Any) -> None:
    """Set (or with _DELETE remove) the value at a dotted key path such as "instruments[1].tick_size"."""
    steps: list[str | int] = []
    for part in key_path.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", part)
        steps.append(name)
        steps.extend(int(index) for index in indexes if index)
    node: Any = document
    for step in steps[:-1]:
        node = node[step]
    if value is _DELETE:
        del node[steps[-1]]
    else:
        node[steps[-1]] = value


def _write(tmp_path: Path, key_path: str | None = None, value: Any = None) -> Path:
    document = copy.deepcopy(VALID)
    if key_path is not None:
        _set_at(document, key_path, value)
    path = tmp_path / "exchange.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value


def _assert_error(error: ConfigError, path: Path, key: str, fragment: str) -> None:
    assert error.file == str(path)
    assert error.key == key
    assert fragment in error.message
    assert str(error) == f"{path}: {key}: {error.message}"
    assert "\n" not in str(error)


def test_the_valid_base_config_loads(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path))
    assert [i.symbol for i in settings.instruments] == ["AAPL", "MSFT"]


BAD_VALUES = [
    # venue
    ("venue.name", "", "must not be empty"),
    ("venue.name", 7, "must be text"),
    ("venue.trading_day_end", "25:00", 'must be a 24-hour UTC time "HH:MM"'),
    ("venue.trading_day_end", "9:30", '"HH:MM"'),
    ("venue.trading_day_end", 1260, 'put the time in quotes, e.g. "21:00"'),
    # fix
    ("fix.host", "", "must not be empty"),
    ("fix.port", 0, "must be an integer from 1 to 65535"),
    ("fix.port", 65536, "must be an integer from 1 to 65535"),
    ("fix.port", "9876", "must be an integer from 1 to 65535 (without quotes)"),
    ("fix.port", True, "must be an integer from 1 to 65535"),
    ("fix.sender_comp_id", "", "must not be empty"),
    ("fix.sender_comp_id", "EX CHANGE", "no spaces"),
    ("fix.sessions_file", 5, "must be text"),
    # metrics
    ("metrics.host", None, "must be text"),
    ("metrics.port", 70000, "must be an integer from 1 to 65535"),
    ("metrics.port", 9876, "already used by fix.port"),
    # database
    ("database.url", "mysql://db/audit", 'allowed: a URL starting with "sqlite:" or "postgresql"'),
    ("database.url", "", "must not be empty"),
    # instruments
    ("instruments[0].symbol", "aapl", "allowed: 1 to 16 characters from A-Z, 0-9, '.', '_', '-'"),
    ("instruments[0].symbol", "A" * 17, "1 to 16 characters"),
    ("instruments[0].symbol", "AA PL", "1 to 16 characters"),
    ("instruments[0].symbol", True, "put it in quotes"),
    ("instruments[1].tick_size", "-0.01", 'must be a positive decimal, e.g. "0.01"'),
    ("instruments[1].tick_size", "0", 'must be a positive decimal, e.g. "0.01"'),
    ("instruments[1].tick_size", "a cent", 'must be a positive decimal, e.g. "0.01"'),
    ("instruments[1].tick_size", "NaN", "must be a positive decimal"),
    ("instruments[1].tick_size", "Infinity", "must be a positive decimal"),
    ("instruments[1].tick_size", True, "must be a positive decimal"),
    ("instruments[1].tick_size", "1e-999999999", "too many decimal places"),
    ("instruments[1].tick_size", "0.00001", "needs 5 decimals but price_decimals is 4; set price_decimals to at least 5"),
    ("instruments[0].lot_size", 0, "must be a positive integer"),
    ("instruments[0].lot_size", True, "must be a positive integer"),
    ("instruments[0].lot_size", 1.5, "must be a positive integer"),
    ("instruments[0].lot_size", "100", "must be a positive integer, e.g. 1 (without quotes)"),
    ("instruments[0].currency", "usd", "allowed: 3 uppercase letters"),
    ("instruments[0].currency", "USDT", "allowed: 3 uppercase letters"),
    ("instruments[0].reference_price", "-190", 'must be a positive decimal, e.g. "190.00"'),
    ("instruments[0].reference_price", "1e30", "too large"),
    ("instruments[0].reference_price", "190.005", "not a multiple of tick_size 0.01; nearest allowed: 190.00 or 190.01"),
    ("instruments[0].price_band_tier", 3, "allowed values: 1, 2"),
    ("instruments[0].price_band_tier", True, "allowed values: 1, 2"),
    ("instruments[0].price_band_tier", "1", "allowed values: 1, 2"),
    ("instruments[0].price_decimals", 10, "must be an integer from 0 to 9"),
    ("instruments[0].price_decimals", -1, "must be an integer from 0 to 9"),
    # firms
    (
        "firms.FIRM_A.self_trade_prevention",
        "always",
        "allowed values: cancel_both, cancel_incoming, cancel_resting, decrement_and_cancel, none",
    ),
    ("firms.FIRM_A.sessions.BROKER1.role", "trader", "'trader' is not allowed; allowed values: drop_copy, market_data, order_entry"),
    ("firms.FIRM_A.sessions.BROKER1.cancel_on_disconnect", "yes", "must be true or false"),
    ("firms.FIRM_A.sessions.BROKER1.cancel_on_disconnect", 1, "must be true or false"),
    # risk
    ("risk.defaults.max_order_quantity", 0, "must be a positive integer"),
    ("risk.defaults.max_order_quantity", False, "must be a positive integer"),
    ("risk.defaults.max_order_notional", "-1", 'must be a positive decimal, e.g. "1000000000"'),
    ("risk.firms.FIRM_A.max_order_quantity", 0, "must be a positive integer"),
    ("risk.firms.FIRM_A.max_order_notional", "lots", "must be a positive decimal"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), BAD_VALUES, ids=[f"{k}={v!r}"[:60] for k, v, _ in BAD_VALUES])
def test_bad_value_names_file_key_and_what_is_allowed(tmp_path: Path, key: str, value: Any, fragment: str) -> None:
    path = _write(tmp_path, key, value)
    _assert_error(_error(path), path, key, fragment)


def test_the_spec_example_message_for_a_negative_tick_size_reads_exactly(tmp_path: Path) -> None:
    path = _write(tmp_path, "instruments[1].tick_size", "-0.01")
    assert str(_error(path)) == f"""{path}: instruments[1].tick_size: '-0.01' must be a positive decimal, e.g. "0.01\""""


def test_a_bad_session_role_message_reads_exactly(tmp_path: Path) -> None:
    path = _write(tmp_path, "firms.FIRM_A.sessions.BROKER1.role", "trader")
    assert str(_error(path)) == (
        f"{path}: firms.FIRM_A.sessions.BROKER1.role: 'trader' is not allowed; "
        "allowed values: drop_copy, market_data, order_entry"
    )


SECTION_KEYS = {
    "": "circuit_breakers, database, fees, firms, fix, instruments, journal, market_data, metrics, risk, venue",
    "venue": "name, trading_day_end",
    "fix": "host, port, sender_comp_id, sessions_file",
    "metrics": "host, port",
    "database": "url",
    "instruments[0]": "currency, lot_size, price_band_tier, price_decimals, reference_price, symbol, tick_size",
    "firms.FIRM_A": "fee_tier, self_trade_prevention, sessions",
    "firms.FIRM_A.sessions.BROKER1": "cancel_on_disconnect, drop_copy_firms, market_data, password_hash, role",
    "risk": "defaults, firms",
    "risk.defaults": "credit_limit, kill_switch_on_credit_breach, logout_messages_per_second, market_order_protection_percent, market_orders, max_daily_loss, max_messages_per_second, max_order_notional, max_order_quantity, max_position, price_collar_percent, price_collar_ticks, restricted_symbols",
    "risk.firms.FIRM_A": "credit_limit, kill_switch_on_credit_breach, logout_messages_per_second, market_order_protection_percent, market_orders, max_daily_loss, max_messages_per_second, max_order_notional, max_order_quantity, max_position, price_collar_percent, price_collar_ticks, restricted_symbols",
}


@pytest.mark.parametrize(("section", "allowed"), SECTION_KEYS.items(), ids=[s or "<top>" for s in SECTION_KEYS])
def test_unknown_key_at_any_level_names_file_key_and_sorted_allowed_keys(
    tmp_path: Path, section: str, allowed: str
) -> None:
    key = f"{section}.colour" if section else "colour"
    path = _write(tmp_path, key, "red")
    _assert_error(_error(path), path, key, f"unknown key; allowed keys: {allowed}")


def test_unknown_top_level_key_names_file_key_and_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, "colour", "red")
    assert str(_error(path)) == (
        f"{path}: colour: unknown key; allowed keys: circuit_breakers, database, fees, firms, fix, instruments, journal, market_data, metrics, risk, venue"
    )


def test_unknown_instrument_key_message_reads_exactly(tmp_path: Path) -> None:
    path = _write(tmp_path, "instruments[0].colour", "red")
    assert str(_error(path)) == (
        f"{path}: instruments[0].colour: unknown key; allowed keys: currency, lot_size, "
        "price_band_tier, price_decimals, reference_price, symbol, tick_size"
    )


REQUIRED_KEYS = [
    "instruments",
    "firms",
    "instruments[0].symbol",
    "instruments[0].tick_size",
    "instruments[0].lot_size",
    "instruments[0].currency",
    "instruments[0].reference_price",
    "instruments[0].price_band_tier",
    "firms.FIRM_A.sessions",
]


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_missing_required_key_names_the_key(tmp_path: Path, key: str) -> None:
    path = _write(tmp_path, key, _DELETE)
    _assert_error(_error(path), path, key, "missing")


WRONG_SHAPES = [
    ("instruments", [], "must be a list with at least one instrument"),
    ("instruments", {"AAPL": {}}, "must be a list with at least one instrument"),
    ("instruments", None, "must be a list with at least one instrument"),
    ("instruments[0]", "AAPL", "must be a mapping; allowed keys: currency, lot_size"),
    ("firms", {}, "must be a mapping of firm id to firm settings with at least one firm"),
    ("firms", ["FIRM_A"], "must be a mapping of firm id to firm settings"),
    ("firms.FIRM_A", None, "must be a mapping; allowed keys: fee_tier, self_trade_prevention, sessions"),
    ("firms.FIRM_A.sessions", {}, "with at least one session"),
    ("firms.FIRM_A.sessions", ["BROKER1"], "must be a mapping of session CompID to session settings"),
    ("venue", ["FIXEX"], "must be a mapping; allowed keys: name, trading_day_end"),
    ("risk.defaults", 5, "must be a mapping; allowed keys: credit_limit, kill_switch_on_credit_breach, logout_messages_per_second, market_order_protection_percent, market_orders, max_daily_loss, max_messages_per_second, max_order_notional, max_order_quantity, max_position, price_collar_percent, price_collar_ticks, restricted_symbols"),
    ("risk.firms", ["FIRM_A"], "must be a mapping of firm id to limit overrides"),
]


@pytest.mark.parametrize(("key", "value", "fragment"), WRONG_SHAPES, ids=[f"{k}={v!r}" for k, v, _ in WRONG_SHAPES])
def test_section_of_the_wrong_shape_names_the_section_and_what_it_should_be(
    tmp_path: Path, key: str, value: Any, fragment: str
) -> None:
    path = _write(tmp_path, key, value)
    _assert_error(_error(path), path, key, fragment)


def test_duplicate_symbol_names_the_duplicate_and_the_first_use(tmp_path: Path) -> None:
    path = _write(tmp_path, "instruments[1].symbol", "AAPL")
    _assert_error(_error(path), path, "instruments[1].symbol", "'AAPL' is already used by instruments[0]")


def test_session_comp_id_used_by_two_firms_names_the_comp_id_and_both_firms(tmp_path: Path) -> None:
    path = _write(tmp_path, "firms.FIRM_B.sessions", {"BROKER1": {}})
    error = _error(path)
    _assert_error(error, path, "firms.FIRM_B.sessions.BROKER1", "CompID 'BROKER1' is already a session of firm FIRM_A")
    assert "FIRM_B" in error.message
    assert "unique across all firms" in error.message


def test_session_comp_id_equal_to_the_exchange_comp_id_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "firms.FIRM_B.sessions", {"EXCHANGE": {}})
    _assert_error(_error(path), path, "firms.FIRM_B.sessions.EXCHANGE", "fix.sender_comp_id")


def test_session_comp_id_with_a_space_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "firms.FIRM_B.sessions", {"BROKER 2": {}})
    _assert_error(_error(path), path, "firms.FIRM_B.sessions.BROKER 2", "no spaces")


def test_risk_override_for_an_unknown_firm_names_the_firm_and_lists_known_firms(tmp_path: Path) -> None:
    path = _write(tmp_path, "risk.firms.FIRM_Z", {"max_order_quantity": 10})
    _assert_error(_error(path), path, "risk.firms.FIRM_Z", "unknown firm; firms defined under `firms`: FIRM_A, FIRM_B")


def test_database_url_error_does_not_echo_the_password(tmp_path: Path) -> None:
    path = _write(tmp_path, "database.url", "postgres://fixex:hunter2@db/audit")
    error = _error(path)
    _assert_error(error, path, "database.url", "'postgres://fixex:***@db/audit' is not supported")
    assert "hunter2" not in str(error)


@pytest.mark.parametrize("url", ["sqlite:///var/audit.db", "sqlite://", "postgresql://db/audit", "postgresql+psycopg://u@db/a"])
def test_sqlite_and_postgresql_urls_are_accepted(tmp_path: Path, url: str) -> None:
    assert load_settings(_write(tmp_path, "database.url", url)).database.url == url


def test_metrics_may_share_the_fix_port_number_on_a_different_host(tmp_path: Path) -> None:
    path = _write(tmp_path, "metrics", {"host": "10.0.0.1", "port": 9876})
    assert load_settings(path).metrics.port == 9876


def test_decimals_may_be_given_as_yaml_numbers(tmp_path: Path) -> None:
    document = copy.deepcopy(VALID)
    document["instruments"][0].update(tick_size=0.05, reference_price=190)
    document["risk"]["defaults"]["max_order_notional"] = 2500000
    path = tmp_path / "numbers.yaml"
    path.write_text(yaml.safe_dump(document))
    settings = load_settings(path)
    assert settings.instrument("AAPL").tick_size == Decimal("0.05")
    assert str(settings.instrument("AAPL").tick_size) == "0.05"  # via str(), not the float's binary value
    assert settings.instrument("AAPL").reference_price == Decimal("190")
    assert settings.risk.defaults.max_order_notional == Decimal("2500000")


def test_decimals_are_exact_decimal_values_not_floats(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path))
    aapl = settings.instrument("AAPL")
    assert type(aapl.tick_size) is Decimal and aapl.tick_size == Decimal("0.01")
    assert type(aapl.reference_price) is Decimal
    assert type(settings.risk.defaults.max_order_notional) is Decimal


def test_price_decimals_too_few_for_the_tick_is_reported_on_the_tick_size(tmp_path: Path) -> None:
    path = _write(tmp_path, "instruments[0].price_decimals", 1)
    _assert_error(
        _error(path), path, "instruments[0].tick_size", "0.01 needs 2 decimals but price_decimals is 1"
    )


def test_a_tick_needing_more_decimals_loads_when_price_decimals_is_raised(tmp_path: Path) -> None:
    document = copy.deepcopy(VALID)
    document["instruments"][0].update(tick_size="0.00001", reference_price="190.00001", price_decimals=5)
    path = tmp_path / "fine.yaml"
    path.write_text(yaml.safe_dump(document))
    aapl = load_settings(path).instrument("AAPL")
    assert (aapl.tick_units, aapl.reference_price_units) == (1, 19000001)
