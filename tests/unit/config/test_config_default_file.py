"""The shipped config/exchange.yaml loads and says what `make run` relies on."""

from __future__ import annotations

from datetime import time, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import config
from config import DEFAULT_CONFIG_PATH, RiskLimits, Settings, load_settings


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings()


def test_default_path_is_exchange_yaml_next_to_the_loader() -> None:
    assert DEFAULT_CONFIG_PATH == Path(config.loader.__file__).with_name("exchange.yaml")
    assert DEFAULT_CONFIG_PATH.is_file()


def test_loading_without_a_path_reads_the_default_file(settings: Settings) -> None:
    assert settings.source == str(DEFAULT_CONFIG_PATH)
    assert load_settings(DEFAULT_CONFIG_PATH) == settings


def test_default_venue_fix_metrics_and_database(settings: Settings) -> None:
    assert settings.venue.name == "FIXEX"
    assert settings.venue.trading_day_end == time(21, 0, tzinfo=timezone.utc)
    assert (settings.fix.host, settings.fix.port, settings.fix.sender_comp_id) == ("127.0.0.1", 9876, "EXCHANGE")
    assert settings.fix.sessions_file == "sessions.cfg"
    assert (settings.metrics.host, settings.metrics.port) == ("127.0.0.1", 9877)
    assert settings.database.url == "sqlite:///var/audit.db"


@pytest.mark.parametrize(
    ("symbol", "reference_price"),
    [("AAPL", "190.00"), ("MSFT", "420.00"), ("IBM", "210.00"), ("GOOG", "170.00"), ("TSLA", "250.00")],
)
def test_default_instrument_is_a_usd_tier_1_stock_on_a_cent_tick(
    settings: Settings, symbol: str, reference_price: str
) -> None:
    instrument = settings.instrument(symbol)
    assert instrument.reference_price == Decimal(reference_price)
    assert instrument.tick_size == Decimal("0.01")
    assert (instrument.lot_size, instrument.currency, instrument.price_band_tier) == (1, "USD", 1)
    assert instrument.price_decimals == 4


def test_default_instruments_are_exactly_the_five_stocks_in_order(settings: Settings) -> None:
    assert [i.symbol for i in settings.instruments] == ["AAPL", "MSFT", "IBM", "GOOG", "TSLA"]


def test_default_firms_own_the_expected_sessions_and_roles(settings: Settings) -> None:
    sessions = {
        firm.firm_id: [(s.comp_id, s.role, s.cancel_on_disconnect) for s in firm.sessions]
        for firm in settings.firms
    }
    assert sessions == {
        "FIRM_A": [("BROKER1", "order_entry", True)],
        "FIRM_B": [("BROKER2", "order_entry", True)],
        "FIRM_C": [("BROKER3", "order_entry", True)],
        "FIRM_D": [("BROKER4", "order_entry", True)],
        "FIRM_MD": [("MDCLIENT1", "market_data", False), ("MDCLIENT2", "market_data", False)],
        "FIRM_OPS": [("DROPCOPY1", "drop_copy", False)],
    }


def test_default_risk_limits_are_permissive_and_apply_to_every_firm(settings: Settings) -> None:
    permissive = RiskLimits(max_order_quantity=1_000_000, max_order_notional=Decimal("1000000000"))
    assert settings.risk.defaults == permissive
    assert all(settings.limits_for(firm.firm_id) == permissive for firm in settings.firms)
