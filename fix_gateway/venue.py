"""Assembling the venue from validated settings: the glue between config and the core."""

from __future__ import annotations

import os
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from config import InstrumentSettings, Settings
from matching import BandPercentages, CircuitBreakerRules, Instrument, MatchingEngine, SelfTradePrevention
from reporting.command_journal import VenueStarted, check_replay
from risk import FirmLimits, OrderLimits
from risk.collar import PriceCollars
from risk.exposure import ExposureLimits, FirmExposure

# config spells self-trade prevention modes as YAML strings; "none" lets a firm's orders meet.
SELF_TRADE_PREVENTION = {mode.value: mode for mode in SelfTradePrevention} | {"none": None}


def core_instrument(instrument: InstrumentSettings) -> Instrument:
    return Instrument(instrument.symbol, tick_size=instrument.tick_units, lot_size=instrument.lot_size,
                      price_decimals=instrument.price_decimals, reference_price=instrument.reference_price_units,
                      band_tier=instrument.price_band_tier)


def circuit_breaker_rules(settings: Settings) -> CircuitBreakerRules | None:
    """The core's circuit-breaker rules from config (None when disabled)."""
    configured = settings.circuit_breakers
    if not configured.enabled:
        return None
    second = 1_000_000_000
    return CircuitBreakerRules(
        BandPercentages({1: Fraction(configured.tier_1_percent), 2: Fraction(configured.tier_2_percent)},
                        Fraction(configured.low_price_percent), Fraction(configured.low_price)),
        window_ns=configured.reference_window_seconds * second,
        review_ns=configured.reference_review_seconds * second,
        update_percent=Fraction(configured.reference_update_percent),
        limit_state_ns=configured.limit_state_seconds * second,
        pause_ns=configured.pause_seconds * second,
        queue_during_pause=configured.during_pause == "queue")


def build_engine(settings: Settings, clock: Callable[[], int], *, first_sequence: int = 1,
                 first_order_id: int = 1) -> MatchingEngine:
    return MatchingEngine([core_instrument(i) for i in settings.instruments], clock=clock,
                          first_sequence=first_sequence, first_order_id=first_order_id,
                          circuit_breakers=circuit_breaker_rules(settings),
                          queue_when_halted=settings.circuit_breakers.during_pause == "queue")


def replay_engine_at(started: VenueStarted, journal_seq: int, engine: MatchingEngine | None, settings: Settings,
                     clock: Callable[[], int], path: str | os.PathLike[str]) -> MatchingEngine:
    """A reader replaying the input journal, at a venue_started entry: at the first, the engine as the venue
    started (its ids from there); at each later one, the same engine, checked to have reached the ids the
    venue had (ReplayDivergedError otherwise)."""
    if engine is None:
        return build_engine(settings, clock, first_sequence=started.next_sequence,
                            first_order_id=started.next_order_id)
    check_replay(started, journal_seq, engine, path)
    return engine


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


def build_price_collars(settings: Settings, format_price: Callable[[str, int], str]) -> PriceCollars:
    """Per-firm price collars (percent and / or ticks) and market order protection, in price units."""
    limits = {f.firm_id: settings.limits_for(f.firm_id) for f in settings.firms}
    return PriceCollars(
        {firm: Fraction(firm_limits.price_collar_percent) for firm, firm_limits in limits.items()
         if firm_limits.price_collar_percent is not None},
        {i.symbol: i.reference_price_units for i in settings.instruments}, format_price,
        ticks_by_firm={firm: firm_limits.price_collar_ticks for firm, firm_limits in limits.items()
                       if firm_limits.price_collar_ticks is not None},
        tick_sizes={i.symbol: i.tick_units for i in settings.instruments},
        protection_percent_by_firm={firm: Fraction(firm_limits.market_order_protection_percent)
                                    for firm, firm_limits in limits.items()})


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
