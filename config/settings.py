"""Typed, immutable settings for the exchange.

Every class is a frozen, slotted dataclass holding already-validated values:
tuples instead of lists, ``Decimal`` for prices at the edge, plain ``int`` for
everything the core counts in. ``config.loader`` builds them from YAML; tests and
tools may also build them directly.

Prices in the core are integer *price units*: one unit is ``10**-price_decimals``
of the currency (``InstrumentSettings.price_unit``). ``to_units``/``from_units``
convert between those integers and ``Decimal`` prices at the FIX and database edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timezone
from decimal import Decimal

__all__ = [
    "DEFAULT_MAX_ORDER_NOTIONAL",
    "DEFAULT_FEE_TIERS",
    "DEFAULT_MAX_ORDER_QUANTITY",
    "DEFAULT_MARKET_ORDER_PROTECTION_PERCENT",
    "JOURNAL_FSYNC_POLICIES",
    "MAX_FEE_BPS",
    "PRICE_BAND_TIERS",
    "SELF_TRADE_PREVENTION_MODES",
    "SESSION_ROLES",
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
]

SELF_TRADE_PREVENTION_MODES: tuple[str, ...] = (
    "none",
    "cancel_resting",
    "cancel_incoming",
    "cancel_both",
    "decrement_and_cancel",
)
SESSION_ROLES: tuple[str, ...] = ("order_entry", "market_data", "drop_copy")
PRICE_BAND_TIERS: tuple[int, ...] = (1, 2)
# When the audit journal fsyncs: every append, every group_commit_ms (group commit), or never (the OS decides).
JOURNAL_FSYNC_POLICIES: tuple[str, ...] = ("always", "group", "os")

# A fee rate beyond this many basis points (1%) either way is taken for a typing mistake.
MAX_FEE_BPS = Decimal(100)

DEFAULT_MAX_ORDER_QUANTITY = 1_000_000
DEFAULT_MAX_ORDER_NOTIONAL = Decimal("1000000000")
DEFAULT_MAX_MESSAGES_PER_SECOND = 20_000  # permissive: one session at full speed is never throttled
DEFAULT_LOGOUT_MESSAGES_PER_SECOND = 50_000
# A market order of a firm with no price collar may trade at most this far through the opposite best
# price (the reference price when that side is empty); the rest is cancelled.
DEFAULT_MARKET_ORDER_PROTECTION_PERCENT = Decimal("5")

# to_units answers None beyond this many digits rather than building huge integers
# from hostile input such as Decimal("1e999999999").
_MAX_UNIT_DIGITS = 36


@dataclass(frozen=True, slots=True)
class VenueSettings:
    name: str = "FIXEX"
    # Time of day (UTC, tz-aware) at which Day orders expire.
    trading_day_end: time = time(21, 0, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class FixSettings:
    host: str = "127.0.0.1"
    port: int = 9876
    sender_comp_id: str = "EXCHANGE"
    # Kept exactly as written in the config; a relative path is relative to the working directory.
    sessions_file: str = "sessions.cfg"


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int = 9877


@dataclass(frozen=True, slots=True, repr=False)
class DatabaseSettings:
    url: str = "sqlite:///var/audit.db"

    @property
    def redacted_url(self) -> str:
        """The URL with any password replaced by ``***``: safe for logs."""
        return redact_url(self.url)

    def __repr__(self) -> str:  # never put a password into a log line
        return f"DatabaseSettings(url={self.redacted_url!r})"


@dataclass(frozen=True, slots=True)
class MarketDataSettings:
    # The market-data sessions' own port (on fix.host), served by a process of its own so that
    # subscribers never cost the order path anything.
    port: int = 9878
    # A subscriber this many messages behind (unanswered TestRequest) is held: sent nothing until it
    # catches up, then a fresh snapshot.
    max_unread_messages: int = 2000
    # A subscriber held this long is logged out with a Text saying why.
    stuck_logout_seconds: int = 10
    # The publisher sends at most this often: what changed in between goes out as one update per
    # subscription (latest state per price level). Longer: less work beside the order path, more lag.
    batch_milliseconds: int = 1


CIRCUIT_BREAKER_MODES = ("queue", "reject")


@dataclass(frozen=True, slots=True)
class CircuitBreakerSettings:
    """Limit Up-Limit Down style bands per instrument, the limit state, the pause and the reopening auction."""

    enabled: bool = True
    tier_1_percent: Decimal = Decimal(5)  # band half-width for price_band_tier 1 instruments
    tier_2_percent: Decimal = Decimal(10)  # ... for tier 2
    low_price_percent: Decimal = Decimal(20)  # for either tier while the reference is at or below low_price
    low_price: Decimal = Decimal("3.00")
    reference_window_seconds: int = 300  # the reference is the mean trade price over this window
    reference_review_seconds: int = 30  # how often (after trades) the reference is reviewed
    reference_update_percent: Decimal = Decimal(1)  # the mean replaces the reference once it moved this much
    limit_state_seconds: int = 15  # a limit state not cleared in this long pauses trading
    pause_seconds: int = 300
    during_pause: str = "queue"  # one of CIRCUIT_BREAKER_MODES; also applies to an operator's halt


@dataclass(frozen=True, slots=True)
class JournalSettings:
    # Directory of the append-only audit journal; kept as written, relative to the working directory.
    path: str = "var/journal"
    fsync: str = "group"  # one of JOURNAL_FSYNC_POLICIES
    group_commit_ms: int = 5  # with fsync "group": how often the background fsync runs, 1..1000


def redact_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


@dataclass(frozen=True, slots=True)
class InstrumentSettings:
    symbol: str
    tick_size: Decimal
    lot_size: int
    currency: str
    reference_price: Decimal
    price_band_tier: int
    price_decimals: int = 4

    @property
    def price_unit(self) -> Decimal:
        """The value of one integer price unit, e.g. ``Decimal("0.0001")`` for 4 decimals."""
        return Decimal(f"1e-{self.price_decimals}")

    @property
    def tick_units(self) -> int:
        """The tick size in price units (validated on load to be a whole number)."""
        units = self.to_units(self.tick_size)
        if units is None:
            raise ValueError(
                f"{self.symbol}: tick_size {self.tick_size} is not a whole number of "
                f"units at {self.price_decimals} decimals"
            )
        return units

    @property
    def reference_price_units(self) -> int:
        units = self.to_units(self.reference_price)
        if units is None:
            raise ValueError(
                f"{self.symbol}: reference_price {self.reference_price} is not a whole number "
                f"of units at {self.price_decimals} decimals"
            )
        return units

    def to_units(self, price: Decimal | int) -> int | None:
        """The price as an integer number of price units, exactly.

        None when the price is not a whole number of units (more decimals than
        ``price_decimals``), is not finite, or is absurdly large: the caller rejects it.
        Whether the price is on a tick is a separate question (``units % tick_units``).
        """
        if isinstance(price, bool) or not isinstance(price, (Decimal, int)):
            raise TypeError(f"price must be a Decimal or int, not {type(price).__name__}")
        if isinstance(price, int):
            price = Decimal(price)
        if not price.is_finite():
            return None
        sign, digits, exponent = price.as_tuple()
        assert isinstance(exponent, int)  # finite
        coefficient = int("".join(map(str, digits)))
        shift = exponent + self.price_decimals
        if coefficient == 0:
            return 0
        if shift >= 0:
            if len(digits) + shift > _MAX_UNIT_DIGITS:
                return None
            units = coefficient * 10**shift
        else:
            if -shift > len(digits):  # smaller than one unit and not zero
                return None
            units, remainder = divmod(coefficient, 10**-shift)
            if remainder:
                return None
            if len(str(units)) > _MAX_UNIT_DIGITS:
                return None
        return -units if sign else units

    def from_units(self, units: int) -> Decimal:
        """The Decimal price for a number of price units, with exactly ``price_decimals`` places."""
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError(f"units must be an int, not {type(units).__name__}")
        return Decimal(f"{units}e-{self.price_decimals}")


@dataclass(frozen=True, slots=True)
class SessionSettings:
    comp_id: str
    firm_id: str
    role: str = "order_entry"
    cancel_on_disconnect: bool = True
    # "scrypt$N$r$p$salt$hash" (see `fixex hash-password`); None: no password asked at logon
    password_hash: str | None = None
    # drop-copy sessions only: the firms whose execution reports they receive; None means all firms
    drop_copy_firms: tuple[str, ...] | None = None
    # order-entry sessions only: may also subscribe to market data (market-data sessions always may)
    market_data: bool = False

    @property
    def may_subscribe(self) -> bool:
        return self.role == "market_data" or (self.role == "order_entry" and self.market_data)

    def __repr__(self) -> str:  # never print a password hash into a log
        shown = "set" if self.password_hash else "none"
        return (f"SessionSettings(comp_id={self.comp_id!r}, firm_id={self.firm_id!r}, role={self.role!r}, "
                f"cancel_on_disconnect={self.cancel_on_disconnect}, password={shown}, "
                f"drop_copy_firms={self.drop_copy_firms!r}, market_data={self.market_data})")


@dataclass(frozen=True, slots=True)
class FirmSettings:
    firm_id: str
    self_trade_prevention: str = "cancel_resting"
    sessions: tuple[SessionSettings, ...] = ()
    fee_tier: str | None = None  # a tier of FeeSettings; None: FeeSettings.default_tier


@dataclass(frozen=True, slots=True)
class FeeTier:
    """What a firm in this tier pays per execution, in basis points of the notional; negative is a rebate.

    The maker is the resting order's side of a trade (it added liquidity), the taker the
    aggressing order's side (it removed liquidity).
    """

    name: str
    maker_bps: Decimal
    taker_bps: Decimal


DEFAULT_FEE_TIERS: tuple[FeeTier, ...] = (FeeTier("standard", Decimal("-0.20"), Decimal("0.30")),)


@dataclass(frozen=True, slots=True)
class FeeSettings:
    tiers: tuple[FeeTier, ...] = DEFAULT_FEE_TIERS
    default_tier: str = "standard"  # the tier of every firm that names none
    _tier_by_name: dict[str, FeeTier] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tier_by_name", _index(self.tiers, "name", "fee tier"))
        if self.default_tier not in self._tier_by_name:
            raise ValueError(f"default fee tier {self.default_tier!r} is not one of the tiers "
                             f"({', '.join(sorted(self._tier_by_name))})")

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(self._tier_by_name)

    def tier(self, name: str) -> FeeTier:
        """The tier with this name; KeyError if there is none."""
        return self._tier_by_name[name]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_order_quantity: int = DEFAULT_MAX_ORDER_QUANTITY
    max_order_notional: Decimal = DEFAULT_MAX_ORDER_NOTIONAL
    # Per session, over the last second: above the first the excess is refused, above the second
    # the session is logged out (and cancel-on-disconnect applies).
    max_messages_per_second: int = DEFAULT_MAX_MESSAGES_PER_SECOND
    logout_messages_per_second: int = DEFAULT_LOGOUT_MESSAGES_PER_SECOND
    # A limit buy priced more than this far above the best offer (sell: below the best bid; the
    # reference price when that side is empty) is refused. None: no collar.
    price_collar_percent: Decimal | None = None
    # The same bound in ticks: a buy at most this many ticks above the best offer, a sell below the best
    # bid. None: no tick collar. With both set, the tighter bound applies.
    price_collar_ticks: int | None = None
    # Market orders trade at most as far through the market as the collar allows; a firm with no collar
    # gets this percentage instead (the rest of the order is cancelled there).
    market_order_protection_percent: Decimal = DEFAULT_MARKET_ORDER_PROTECTION_PERCENT
    # Open notional of resting orders plus notional executed today, per firm, in currency. None: no limit.
    credit_limit: Decimal | None = None
    # The most a firm may be long or short in one symbol, counting every open order as filled. None: no limit.
    max_position: int | None = None
    # Loss today (trades today, positions marked to the last trade) beyond which new orders are refused.
    max_daily_loss: Decimal | None = None
    # Symbols the firm may not trade (compliance's restricted list); orders in them are rejected.
    restricted_symbols: tuple[str, ...] = ()
    # Whether the firm may send market orders (else they are rejected; limit orders only).
    market_orders: bool = True
    # Set the firm's kill switch (as `fixex admin kill-switch set FIRM` does) when one of its orders is
    # rejected for its credit limit.
    kill_switch_on_credit_breach: bool = False


@dataclass(frozen=True, slots=True)
class RiskOverride:
    """A firm's overrides of the default limits; None means "use the default"."""

    firm_id: str
    max_order_quantity: int | None = None
    max_order_notional: Decimal | None = None
    max_messages_per_second: int | None = None
    logout_messages_per_second: int | None = None
    price_collar_percent: Decimal | None = None
    price_collar_ticks: int | None = None
    market_order_protection_percent: Decimal | None = None
    credit_limit: Decimal | None = None
    max_position: int | None = None
    max_daily_loss: Decimal | None = None
    restricted_symbols: tuple[str, ...] | None = None
    market_orders: bool | None = None
    kill_switch_on_credit_breach: bool | None = None

    def apply_to(self, defaults: RiskLimits) -> RiskLimits:
        return RiskLimits(**{
            name: getattr(defaults, name) if getattr(self, name) is None else getattr(self, name)
            for name in RiskLimits.__dataclass_fields__
        })


@dataclass(frozen=True, slots=True)
class RiskSettings:
    defaults: RiskLimits = field(default_factory=RiskLimits)
    firm_overrides: tuple[RiskOverride, ...] = ()
    _override_by_firm: dict[str, RiskOverride] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_override_by_firm", _index(self.firm_overrides, "firm_id", "risk override")
        )

    def override_for(self, firm_id: str) -> RiskOverride | None:
        return self._override_by_firm.get(firm_id)

    def limits_for(self, firm_id: str) -> RiskLimits:
        """The defaults merged with the firm's overrides (the defaults alone if it has none)."""
        override = self._override_by_firm.get(firm_id)
        return self.defaults if override is None else override.apply_to(self.defaults)


@dataclass(frozen=True, slots=True)
class Settings:
    source: str = "<in memory>"  # where the settings came from, e.g. the YAML file path
    venue: VenueSettings = field(default_factory=VenueSettings)
    fix: FixSettings = field(default_factory=FixSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    instruments: tuple[InstrumentSettings, ...] = ()
    firms: tuple[FirmSettings, ...] = ()
    risk: RiskSettings = field(default_factory=RiskSettings)
    journal: JournalSettings = field(default_factory=JournalSettings)  # last: keeps positional construction working
    market_data: MarketDataSettings = field(default_factory=MarketDataSettings)
    fees: FeeSettings = field(default_factory=FeeSettings)
    circuit_breakers: CircuitBreakerSettings = field(default_factory=CircuitBreakerSettings)
    # Lookup indexes, built once; not part of equality, hashing or repr.
    _instrument_by_symbol: dict[str, InstrumentSettings] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _firm_by_id: dict[str, FirmSettings] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _session_by_comp_id: dict[str, SessionSettings] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_instrument_by_symbol", _index(self.instruments, "symbol", "instrument")
        )
        object.__setattr__(self, "_firm_by_id", _index(self.firms, "firm_id", "firm"))
        object.__setattr__(
            self,
            "_session_by_comp_id",
            _index([s for f in self.firms for s in f.sessions], "comp_id", "session"),
        )
        for firm in self.firms:
            for session in firm.sessions:
                if session.firm_id != firm.firm_id:
                    raise ValueError(
                        f"session {session.comp_id!r} says firm {session.firm_id!r} "
                        f"but is listed under firm {firm.firm_id!r}"
                    )
            if firm.fee_tier is not None and firm.fee_tier not in self.fees.tier_names:
                raise ValueError(f"firm {firm.firm_id!r} names fee tier {firm.fee_tier!r}, which is not one of "
                                 f"the fee tiers ({', '.join(sorted(self.fees.tier_names))})")

    @property
    def sessions(self) -> tuple[SessionSettings, ...]:
        """Every session of every firm, in config order."""
        return tuple(self._session_by_comp_id.values())

    def instrument(self, symbol: str) -> InstrumentSettings:
        """The instrument with this symbol; KeyError if there is none."""
        return self._instrument_by_symbol[symbol]

    def firm(self, firm_id: str) -> FirmSettings:
        return self._firm_by_id[firm_id]

    def session(self, comp_id: str) -> SessionSettings:
        return self._session_by_comp_id[comp_id]

    def firm_of_session(self, comp_id: str) -> FirmSettings:
        return self._firm_by_id[self._session_by_comp_id[comp_id].firm_id]

    def fee_tier_for(self, firm_id: str) -> FeeTier:
        """The firm's fee tier: its own, else the default tier (also for a firm not in the config)."""
        firm = self._firm_by_id.get(firm_id)
        name = firm.fee_tier if firm is not None and firm.fee_tier is not None else self.fees.default_tier
        return self.fees.tier(name)

    def limits_for(self, firm_id: str) -> RiskLimits:
        """The firm's risk limits: defaults merged with its overrides. KeyError for an unknown firm."""
        if firm_id not in self._firm_by_id:
            raise KeyError(firm_id)
        return self.risk.limits_for(firm_id)


def _index(items, attribute: str, what: str) -> dict:
    index: dict = {}
    for item in items:
        key = getattr(item, attribute)
        if key in index:
            raise ValueError(f"duplicate {what} {attribute} {key!r}")
        index[key] = item
    return index
