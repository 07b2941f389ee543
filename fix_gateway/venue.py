"""Assembling the venue from validated settings: the glue between config and the core."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from config import InstrumentSettings, Settings
from matching import Instrument, MatchingEngine, SelfTradePrevention
from risk import FirmLimits, OrderLimits
from risk.exposure import ExposureLimits, FirmExposure

# config spells self-trade prevention modes as YAML strings; "none" lets a firm's orders meet.
SELF_TRADE_PREVENTION = {mode.value: mode for mode in SelfTradePrevention} | {"none": None}


def core_instrument(instrument: InstrumentSettings) -> Instrument:
    return Instrument(instrument.symbol, tick_size=instrument.tick_units, lot_size=instrument.lot_size,
                      price_decimals=instrument.price_decimals)


def build_engine(settings: Settings, clock: Callable[[], int], *, first_sequence: int = 1,
                 first_order_id: int = 1) -> MatchingEngine:
    return MatchingEngine([core_instrument(i) for i in settings.instruments], clock=clock,
                          first_sequence=first_sequence, first_order_id=first_order_id)


def self_trade_prevention_of(settings: Settings, firm_id: str) -> SelfTradePrevention | None:
    return SELF_TRADE_PREVENTION[settings.firm(firm_id).self_trade_prevention]


def build_order_limits(settings: Settings) -> OrderLimits:
    """Per-firm order limits in the core's integer units.

    One notional limit in currency serves instruments of different price units, so
    it is kept per firm in the finest unit any instrument uses.
    """
    decimals = max(i.price_decimals for i in settings.instruments)
    limits = {}
    for firm in settings.firms:
        configured = settings.limits_for(firm.firm_id)
        limits[firm.firm_id] = FirmLimits(configured.max_order_quantity,
                                          int(configured.max_order_notional * 10**decimals),
                                          frozenset(configured.restricted_symbols), configured.market_orders)
    scale = {i.symbol: 10 ** (decimals - i.price_decimals) for i in settings.instruments}
    return OrderLimits(
        limits,
        reference_prices={i.symbol: i.reference_price_units * scale[i.symbol] for i in settings.instruments},
        price_unit={i.symbol: i.price_unit / scale[i.symbol] for i in settings.instruments},
        price_scale=scale,
    )


def build_firm_exposure(settings: Settings) -> FirmExposure:
    """Credit and position limits per firm, notionals in the finest price unit of any instrument."""
    decimals = max(i.price_decimals for i in settings.instruments)
    scale = {i.symbol: 10 ** (decimals - i.price_decimals) for i in settings.instruments}
    limits = {}
    for firm in settings.firms:
        configured = settings.limits_for(firm.firm_id)
        if any(v is not None for v in (configured.credit_limit, configured.max_position, configured.max_daily_loss)):
            credit = int(configured.credit_limit * 10**decimals) if configured.credit_limit is not None else None
            loss = int(configured.max_daily_loss * 10**decimals) if configured.max_daily_loss is not None else None
            limits[firm.firm_id] = ExposureLimits(credit, configured.max_position, loss)

    def currency(units: int) -> str:
        return format((Decimal(units) / 10**decimals).quantize(Decimal(1).scaleb(-min(decimals, 2))), ",f")

    return FirmExposure(limits, {i.symbol: i.reference_price_units * scale[i.symbol] for i in settings.instruments},
                        scale, currency)
