"""Loading files: defaults, file-level errors, malformed YAML and YAML's surprises."""

from __future__ import annotations

import pickle
from datetime import time, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from config import (
    ConfigError,
    DatabaseSettings,
    FixSettings,
    MetricsSettings,
    RiskLimits,
    VenueSettings,
    load_settings,
)

MINIMAL = """\
instruments:
  - symbol: AAPL
    tick_size: "0.01"
    lot_size: 1
    currency: USD
    reference_price: "190.00"
    price_band_tier: 1
firms:
  FIRM_A:
    sessions:
      BROKER1: {}
"""


def _write(tmp_path: Path, text: str, name: str = "exchange.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path: Path | str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value


def test_minimal_config_gets_every_default(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, MINIMAL))
    assert settings.venue == VenueSettings(name="FIXEX", trading_day_end=time(21, 0, tzinfo=timezone.utc))
    assert settings.fix == FixSettings(
        host="127.0.0.1", port=9876, sender_comp_id="EXCHANGE", sessions_file="sessions.cfg"
    )
    assert settings.metrics == MetricsSettings(host="127.0.0.1", port=9877)
    assert settings.database == DatabaseSettings(url="sqlite:///var/audit.db")
    assert settings.risk.defaults == RiskLimits(max_order_quantity=1_000_000, max_order_notional=Decimal("1000000000"))
    assert settings.risk.firm_overrides == ()


def test_minimal_config_defaults_instrument_and_session_fields(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, MINIMAL))
    assert settings.instrument("AAPL").price_decimals == 4
    firm = settings.firm("FIRM_A")
    assert firm.self_trade_prevention == "cancel_resting"
    session = settings.session("BROKER1")
    assert (session.role, session.cancel_on_disconnect, session.firm_id) == ("order_entry", True, "FIRM_A")


def test_empty_optional_sections_mean_all_defaults(tmp_path: Path) -> None:
    text = MINIMAL + "venue:\nfix: {}\nmetrics:\ndatabase:\nrisk:\n  defaults:\n  firms:\n"
    settings = load_settings(_write(tmp_path, text))
    assert settings.venue == VenueSettings()
    assert settings.fix == FixSettings()
    assert settings.risk.defaults == RiskLimits()


def test_session_written_as_a_bare_key_gets_defaults(tmp_path: Path) -> None:
    text = MINIMAL.replace("BROKER1: {}", "BROKER1:")
    assert load_settings(_write(tmp_path, text)).session("BROKER1").role == "order_entry"


def test_source_is_the_path_as_given_by_the_caller(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    assert load_settings(path).source == str(path)
    assert load_settings(str(path)).source == str(path)


def test_trading_day_end_is_a_utc_time(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, MINIMAL + 'venue: {trading_day_end: "16:30"}\n'))
    assert settings.venue.trading_day_end == time(16, 30, tzinfo=timezone.utc)


def test_unquoted_time_which_yaml_reads_as_a_number_says_to_quote_it(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "venue:\n  trading_day_end: 9:30\n")
    error = _error(path)
    assert (error.file, error.key) == (str(path), "venue.trading_day_end")
    assert 'put the time in quotes, e.g. "09:30"' in error.message


def test_unquoted_yes_no_symbol_which_yaml_reads_as_a_boolean_says_to_quote_it(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL.replace("symbol: AAPL", "symbol: ON"))
    error = _error(path)
    assert error.key == "instruments[0].symbol"
    assert "true must be text (YAML reads unquoted yes/no/on/off/true/false as booleans; put it in quotes)" in error.message


def test_duplicate_key_in_one_mapping_names_its_path_and_both_lines(tmp_path: Path) -> None:
    text = MINIMAL.replace("      BROKER1: {}\n", "      BROKER1: {}\n      BROKER1: {role: drop_copy}\n")
    path = _write(tmp_path, text)
    error = _error(path)
    assert (error.file, error.key) == (str(path), "firms.FIRM_A.sessions.BROKER1")
    assert "duplicate key at line 12 (first at line 11)" in error.message


def test_duplicate_top_level_section_is_an_error_not_silently_replaced(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "firms:\n  FIRM_B:\n    sessions: {BROKER2: {}}\n")
    assert _error(path).key == "firms"


def test_yaml_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  - symbol: AAPL\n",
        "  - &common {symbol: IBM, tick_size: '0.01', lot_size: 1, currency: USD,"
        " reference_price: '210.00', price_band_tier: 1}\n"
        "  - <<: *common\n    symbol: AAPL\n",
        1,
    )
    # AAPL's own keys follow the merge; keep the file valid by dropping the now-repeated lines.
    text = text.replace('    tick_size: "0.01"\n    lot_size: 1\n    currency: USD\n', "", 1)
    settings = load_settings(_write(tmp_path, text))
    assert [i.symbol for i in settings.instruments] == ["IBM", "AAPL"]
    assert settings.instrument("AAPL").reference_price == Decimal("190.00")


def test_malformed_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "venue: {name: [FIXEX}\n")
    error = _error(path)
    assert error.file == str(path)
    assert error.key == "<document>"
    assert "invalid YAML at line 12" in error.message
    assert str(error).startswith(f"{path}: <document>: invalid YAML at line 12, column ")
    assert "\n" not in str(error)


def test_badly_indented_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "firms:\n  FIRM_A:\n    sessions: {}\n   oops: 1\n")
    assert "invalid YAML at line 4" in _error(path).message


def test_two_yaml_documents_in_one_file_are_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "---\n" + MINIMAL)
    error = _error(path)
    assert error.key == "<document>"
    assert "expected a single document" in error.message


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    error = _error(path)
    assert (error.file, error.key, error.message) == (str(path), "<document>", "file not found")
    assert str(error) == f"{path}: <document>: file not found"


def test_directory_instead_of_a_file_names_it(tmp_path: Path) -> None:
    error = _error(tmp_path)
    assert error.file == str(tmp_path)
    assert "cannot read the file" in error.message


def test_empty_file_says_what_the_top_level_must_contain(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "# nothing yet\n"))
    assert error.key == "<document>"
    assert "the file is empty; expected a mapping with keys: circuit_breakers, database, fees, firms, fix" in error.message


def test_top_level_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "- AAPL\n- MSFT\n"))
    assert error.key == "<document>"
    assert "the top level is a list; expected a mapping with keys: circuit_breakers, database, fees, firms" in error.message


def test_non_utf8_bytes_are_reported_as_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(MINIMAL.encode() + b"venue: {name: \xe9change}\n")
    error = _error(path)
    assert error.key == "<document>"
    assert "invalid YAML" in error.message


def test_python_specific_yaml_tags_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "venue: !!python/object/apply:os.system ['echo hi']\n")
    error = _error(path)
    assert error.key == "<document>"
    assert "could not determine a constructor" in error.message


def test_config_error_survives_pickling_with_its_fields() -> None:
    error = ConfigError("x.yaml", "fix.port", "0 must be an integer from 1 to 65535")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.file, copy.key, copy.message, str(copy)) == (
        "x.yaml",
        "fix.port",
        "0 must be an integer from 1 to 65535",
        "x.yaml: fix.port: 0 must be an integer from 1 to 65535",
    )
