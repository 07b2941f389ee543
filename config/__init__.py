"""Typed, validated exchange settings loaded from YAML.

The bottom layer: imports no other project package.

    from config import load_settings
    settings = load_settings()            # config/exchange.yaml
    settings = load_settings("prod.yaml") # ConfigError names file, key and what is allowed
"""

from .loader import DEFAULT_CONFIG_PATH, ConfigError, load_settings
from .settings import (
    PRICE_BAND_TIERS,
    SELF_TRADE_PREVENTION_MODES,
    SESSION_ROLES,
    CircuitBreakerSettings,
    DatabaseSettings,
    FeeSettings,
    FeeTier,
    FirmSettings,
    FixSettings,
    InstrumentSettings,
    JournalSettings,
    MarketDataSettings,
    MetricsSettings,
    RiskLimits,
    RiskOverride,
    RiskSettings,
    SessionSettings,
    Settings,
    VenueSettings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "PRICE_BAND_TIERS",
    "SELF_TRADE_PREVENTION_MODES",
    "SESSION_ROLES",
    "CircuitBreakerSettings",
    "ConfigError",
    "DatabaseSettings",
    "FeeSettings",
    "FeeTier",
    "FirmSettings",
    "FixSettings",
    "InstrumentSettings",
    "JournalSettings",
    "MarketDataSettings",
    "MetricsSettings",
    "RiskLimits",
    "RiskOverride",
    "RiskSettings",
    "SessionSettings",
    "Settings",
    "VenueSettings",
    "load_settings",
]
