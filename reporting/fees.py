"""Maker / taker fees: what each side of an execution pays, from its firm's fee tier (config `fees`).

Pure and exact: no I/O, no floats. A tier's rates are basis points of the execution's
notional (price x quantity); the maker is the resting side (it added liquidity), the
taker the aggressing side. Negative rates are rebates.

The fee is rounded once, half-even, to 6 decimal places of the instrument's currency
(a millionth: a cent would round a 1-share fill's fee to nothing, and half-even keeps a
day's total unbiased). The arithmetic is in integers: a rate has at most 4 decimal
places (config), so price_units * quantity * (bps * 10**4) / 10**(price_decimals + 2)
is the fee in millionths, rounded by one integer division.

    schedule = FeeSchedule.from_settings(settings)
    liquidity, fee = schedule.fee("FIRM_A", aggressor=True, last_price_units=1_900_000,
                                  last_quantity=100, price_decimals=4)
    # ("taker", Decimal("0.570000")): 190.00 x 100 x 0.30 bp
    record = schedule.charge(record, price_decimals=4)  # an order_filled record with liquidity and fee set
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

from config.settings import FeeTier, Settings
from reporting.records import AuditRecord

__all__ = ["FEE_DECIMAL_PLACES", "MAKER", "TAKER", "FeeSchedule"]

MAKER = "maker"
TAKER = "taker"
FEE_DECIMAL_PLACES = 6
_BPS_SCALE = 10**4  # rates are held as integer ten-thousandths of a basis point


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fee tiers, the default tier and each firm's own tier; a firm not named pays the default tier."""

    tiers: tuple[FeeTier, ...]
    default_tier: str
    firm_tiers: tuple[tuple[str, str], ...] = ()  # (firm id, tier name)
    # tier name -> (maker, taker) in ten-thousandths of a basis point; firm -> the same.
    _rates: dict[str, tuple[int, int]] = field(init=False, repr=False, compare=False, hash=False)
    _firm_rates: dict[str, tuple[int, int]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        rates: dict[str, tuple[int, int]] = {}
        for tier in self.tiers:
            if tier.name in rates:
                raise ValueError(f"duplicate fee tier {tier.name!r}")
            rates[tier.name] = (_scaled_bps(tier, "maker_bps"), _scaled_bps(tier, "taker_bps"))
        if self.default_tier not in rates:
            raise ValueError(f"default fee tier {self.default_tier!r} is not one of the tiers "
                             f"({', '.join(sorted(rates))})")
        firm_rates: dict[str, tuple[int, int]] = {}
        for firm, tier_name in self.firm_tiers:
            if tier_name not in rates:
                raise ValueError(f"firm {firm!r} names fee tier {tier_name!r}, which is not one of the tiers "
                                 f"({', '.join(sorted(rates))})")
            firm_rates[firm] = rates[tier_name]
        object.__setattr__(self, "_rates", rates)
        object.__setattr__(self, "_firm_rates", firm_rates)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeeSchedule:
        return cls(tiers=settings.fees.tiers, default_tier=settings.fees.default_tier,
                   firm_tiers=tuple((firm.firm_id, firm.fee_tier) for firm in settings.firms
                                    if firm.fee_tier is not None))

    def tier_name_for(self, firm: str) -> str:
        """The firm's tier: its own, else the default (also for a firm the config does not know)."""
        return dict(self.firm_tiers).get(firm, self.default_tier)

    def fee(self, firm: str, aggressor: bool, last_price_units: int, last_quantity: int,
            price_decimals: int) -> tuple[str, Decimal]:
        """("maker" | "taker", fee in currency with exactly 6 decimal places; negative is a rebate).

        `last_price_units` is the execution price in the instrument's integer price units
        (10**-price_decimals of the currency), `last_quantity` the quantity executed.
        """
        if type(aggressor) is not bool:
            raise TypeError(f"aggressor must be True or False, not {aggressor!r}")
        for name, value, minimum in (("last_price_units", last_price_units, 0), ("last_quantity", last_quantity, 1),
                                     ("price_decimals", price_decimals, 0)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < minimum:
                raise ValueError(f"{name} {value} must be at least {minimum}")
        maker_rate, taker_rate = self._firm_rates.get(firm) or self._rates[self.default_tier]
        rate = taker_rate if aggressor else maker_rate
        # fee = units / 10**d * quantity * rate / 10**4 (bps) / 10**4 (rate scale); in millionths: * 10**6
        millionths = _divide_half_even(last_price_units * last_quantity * rate, 10 ** (price_decimals + 2))
        return (TAKER if aggressor else MAKER), Decimal(f"{millionths}e-{FEE_DECIMAL_PLACES}")

    def charge(self, record: AuditRecord, price_decimals: int) -> AuditRecord:
        """An order_filled record with its liquidity and fee set; any other record unchanged."""
        if record.kind != "order_filled":
            return record
        if record.firm is None or record.last_price is None or record.last_quantity is None:
            raise ValueError(f"order_filled record without firm, last_price or last_quantity: {record!r}")
        liquidity, fee = self.record_columns(record.firm, record.detail["aggressor"], record.last_price,
                                             record.last_quantity, price_decimals)
        return dataclasses.replace(record, liquidity=liquidity, fee=fee)

    def record_columns(self, firm: str, aggressor: bool, last_price_units: int, last_quantity: int,
                       price_decimals: int) -> tuple[str, str]:
        """An execution's audit record columns: (liquidity, fee as decimal text), from `fee`."""
        liquidity, fee = self.fee(firm, aggressor, last_price_units, last_quantity, price_decimals)
        return liquidity, format(fee, "f")


def _scaled_bps(tier: FeeTier, name: str) -> int:
    bps = getattr(tier, name)
    if not isinstance(bps, Decimal) or not bps.is_finite():
        raise ValueError(f"fee tier {tier.name!r}: {name} must be a finite Decimal, not {bps!r}")
    scaled = bps * _BPS_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"fee tier {tier.name!r}: {name} {bps} has more than 4 decimal places")
    return int(scaled)


def _divide_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded to the nearest integer, ties to even."""
    quotient, remainder = divmod(numerator, denominator)  # floor: 0 <= remainder < denominator
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient
