"""The settings objects: lookups, merged risk limits, immutability, and config's place as the bottom layer."""

from __future__ import annotations

import ast
import dataclasses
import pickle
from decimal import Decimal
from pathlib import Path

import pytest

import config
from config import (
    DatabaseSettings,
    FirmSettings,
    RiskLimits,
    RiskOverride,
    RiskSettings,
    SessionSettings,
    Settings,
    load_settings,
)

CONFIG = """\
instruments:
  - {symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, reference_price: "190.00", price_band_tier: 1}
  - {symbol: MSFT, tick_size: "0.01", lot_size: 1, currency: USD, reference_price: "420.00", price_band_tier: 2}
firms:
  FIRM_A:
    self_trade_prevention: cancel_both
    sessions:
      BROKER1: {}
      BROKER1B: {cancel_on_disconnect: false}
  FIRM_B:
    sessions: {BROKER2: {}}
  FIRM_C:
    sessions: {BROKER3: {}}
risk:
  defaults: {max_order_quantity: 1000, max_order_notional: "50000"}
  firms:
    FIRM_A: {max_order_quantity: 500}
    FIRM_B: {max_order_notional: "9000.50"}
    FIRM_C: {max_order_quantity: 7, max_order_notional: "70"}
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "exchange.yaml"
    path.write_text(CONFIG)
    return load_settings(path)


def test_instrument_is_found_by_symbol_and_unknown_symbol_is_a_key_error(settings: Settings) -> None:
    assert settings.instrument("MSFT").price_band_tier == 2
    with pytest.raises(KeyError):
        settings.instrument("NOPE")


def test_firm_and_session_are_found_by_id(settings: Settings) -> None:
    assert settings.firm("FIRM_A").self_trade_prevention == "cancel_both"
    assert settings.session("BROKER1B") == SessionSettings("BROKER1B", "FIRM_A", "order_entry", False)
    with pytest.raises(KeyError):
        settings.firm("FIRM_Z")
    with pytest.raises(KeyError):
        settings.session("NOBODY")


def test_firm_of_session_is_the_firm_that_lists_it(settings: Settings) -> None:
    assert settings.firm_of_session("BROKER1B").firm_id == "FIRM_A"
    assert settings.firm_of_session("BROKER2").firm_id == "FIRM_B"
    with pytest.raises(KeyError):
        settings.firm_of_session("NOBODY")


def test_sessions_lists_every_session_in_config_order(settings: Settings) -> None:
    assert [s.comp_id for s in settings.sessions] == ["BROKER1", "BROKER1B", "BROKER2", "BROKER3"]


def test_limits_for_merges_a_firms_overrides_over_the_defaults(settings: Settings) -> None:
    assert settings.limits_for("FIRM_A") == RiskLimits(500, Decimal("50000"))
    assert settings.limits_for("FIRM_B") == RiskLimits(1000, Decimal("9000.50"))
    assert settings.limits_for("FIRM_C") == RiskLimits(7, Decimal("70"))


def test_limits_for_a_firm_without_overrides_are_the_defaults() -> None:
    settings = Settings(
        firms=(FirmSettings("FIRM_X", sessions=(SessionSettings("X1", "FIRM_X"),)),),
        risk=RiskSettings(RiskLimits(10, Decimal("100"))),
    )
    assert settings.limits_for("FIRM_X") == RiskLimits(10, Decimal("100"))


def test_limits_for_an_unknown_firm_is_a_key_error(settings: Settings) -> None:
    with pytest.raises(KeyError):
        settings.limits_for("FIRM_Z")


def test_overrides_are_kept_as_given_with_none_for_keys_not_overridden(settings: Settings) -> None:
    assert settings.risk.override_for("FIRM_A") == RiskOverride("FIRM_A", 500, None)
    assert settings.risk.override_for("FIRM_Z") is None


def test_settings_are_immutable(settings: Settings) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.fix = settings.fix  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.instrument("AAPL").tick_size = Decimal("0.05")  # type: ignore[misc]
    assert isinstance(settings.instruments, tuple)
    assert isinstance(settings.firms, tuple) and isinstance(settings.firms[0].sessions, tuple)
    assert isinstance(settings.risk.firm_overrides, tuple)


def test_settings_classes_are_slotted() -> None:
    for cls in (Settings, FirmSettings, SessionSettings, RiskLimits, RiskSettings, config.InstrumentSettings):
        assert "__slots__" in vars(cls)
        assert dataclasses.is_dataclass(cls)


def test_settings_are_hashable_picklable_and_compare_by_value(settings: Settings) -> None:
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings and hash(copy) == hash(settings)
    assert copy.session("BROKER2").firm_id == "FIRM_B"


def test_replacing_a_field_rebuilds_the_lookups(settings: Settings) -> None:
    smaller = dataclasses.replace(settings, instruments=settings.instruments[:1])
    with pytest.raises(KeyError):
        smaller.instrument("MSFT")


def test_building_settings_with_duplicate_symbols_directly_fails_loudly(settings: Settings) -> None:
    with pytest.raises(ValueError, match="duplicate instrument symbol 'AAPL'"):
        Settings(instruments=(settings.instrument("AAPL"), settings.instrument("AAPL")))


def test_database_repr_hides_the_password() -> None:
    database = DatabaseSettings("postgresql+psycopg://fixex:hunter2@db/audit")
    assert "hunter2" not in repr(database)
    assert database.redacted_url == "postgresql+psycopg://fixex:***@db/audit"
    assert database.url.endswith(":hunter2@db/audit")


def test_config_package_imports_no_other_project_package() -> None:
    forbidden = {"matching", "risk", "marketdata", "reporting", "fix_gateway"}
    for source in Path(config.__file__).parent.glob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            assert not {name.split(".")[0] for name in names} & forbidden, f"{source.name} imports {names}"


def test_public_api_is_re_exported_from_the_package() -> None:
    for name in ("load_settings", "ConfigError", "Settings", "DEFAULT_CONFIG_PATH", "InstrumentSettings",
                 "VenueSettings", "FixSettings", "MetricsSettings", "DatabaseSettings", "FirmSettings",
                 "SessionSettings", "RiskSettings", "RiskLimits"):
        assert name in config.__all__ and hasattr(config, name)
