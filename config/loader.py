"""Load and validate the exchange's YAML config into ``config.settings`` objects.

Any problem stops start-up with one ``ConfigError`` whose text names the file,
the key (a dotted path such as ``instruments[2].tick_size``) and what is allowed.
Each section is described by a table of fields (key -> reader, default); the
readers are small functions that either return the typed value or raise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import time, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .settings import (
    CIRCUIT_BREAKER_MODES,
    CircuitBreakerSettings,
    DEFAULT_LOGOUT_MESSAGES_PER_SECOND,
    DEFAULT_MARKET_ORDER_PROTECTION_PERCENT,
    DEFAULT_MAX_MESSAGES_PER_SECOND,
    DEFAULT_MAX_ORDER_NOTIONAL,
    DEFAULT_FEE_TIERS,
    DEFAULT_MAX_ORDER_QUANTITY,
    JOURNAL_FSYNC_POLICIES,
    MAX_FEE_BPS,
    PRICE_BAND_TIERS,
    SELF_TRADE_PREVENTION_MODES,
    SESSION_ROLES,
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
    redact_url,
)

__all__ = ["DEFAULT_CONFIG_PATH", "ConfigError", "load_settings"]

DEFAULT_CONFIG_PATH: Path = Path(__file__).with_name("exchange.yaml")

DOCUMENT_KEY = "<document>"  # the key reported for problems with the file as a whole


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is one line: ``file: key: message``."""

    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(file, key, message)  # keeps the exception picklable
        self.file = file
        self.key = key
        self.message = message

    def __str__(self) -> str:
        return " ".join(f"{self.file}: {self.key}: {self.message}".splitlines())


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read, validate and return the settings in ``path`` (default: ``DEFAULT_CONFIG_PATH``)."""
    source = DEFAULT_CONFIG_PATH if path is None else path
    file = os.fsdecode(source)
    document = _read_yaml(source, file)
    try:
        return _settings(document, file)
    except _Invalid as problem:
        raise ConfigError(file, problem.key, problem.message) from None


# --------------------------------------------------------------------------- reading the file


class _Invalid(Exception):
    """Raised by the readers; ``load_settings`` adds the file name and turns it into ConfigError."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message


def _read_yaml(source: str | os.PathLike[str], file: str) -> Any:
    try:
        with open(source, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        raise ConfigError(file, DOCUMENT_KEY, "file not found") from None
    except OSError as err:
        raise ConfigError(file, DOCUMENT_KEY, f"cannot read the file: {err.strerror or err}") from None

    document = _parse_yaml(data, file)

    if document is None:
        raise ConfigError(
            file, DOCUMENT_KEY, f"the file is empty; expected a mapping with keys: {_listed(_TOP_LEVEL)}"
        )
    if not isinstance(document, dict):
        raise ConfigError(
            file,
            DOCUMENT_KEY,
            f"the top level is a {_yaml_type(document)}; expected a mapping with keys: "
            f"{_listed(_TOP_LEVEL)}",
        )
    return document


def _parse_yaml(data: bytes, file: str) -> Any:
    """``yaml.safe_load``, plus: duplicate keys are errors and every failure is a ConfigError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(
            file, DOCUMENT_KEY, f"invalid YAML at line {line}: not UTF-8 text (byte {data[err.start]:#04x})"
        ) from None
    # safe_load split in two so that duplicate keys (which it silently drops,
    # keeping the last) are reported with their path before the document is built.
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _reject_duplicate_keys(node, "", set())
        return loader.construct_document(node)
    except _Invalid as problem:
        raise ConfigError(file, problem.key, problem.message) from None
    except yaml.MarkedYAMLError as err:
        raise ConfigError(file, DOCUMENT_KEY, _describe_yaml_error(err)) from None
    except yaml.reader.ReaderError as err:  # a control character in the text
        line = text[: err.position].count("\n") + 1
        raise ConfigError(
            file, DOCUMENT_KEY, f"invalid YAML at line {line}: character {err.character!r} is not allowed"
        ) from None
    except (yaml.YAMLError, ValueError) as err:  # e.g. a date such as 2024-02-30
        raise ConfigError(file, DOCUMENT_KEY, f"invalid YAML: {' '.join(str(err).split())}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _describe_yaml_error(err: yaml.MarkedYAMLError) -> str:
    mark = err.problem_mark or err.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = err.problem or "syntax error"
    context = ""
    if err.context:
        context = f" ({err.context}"
        if err.context_mark is not None and err.context_mark is not mark:
            context += f" started at line {err.context_mark.line + 1}"
        context += ")"
    return f"invalid YAML{where}: {problem}{context}"


def _reject_duplicate_keys(node: yaml.Node, path: str, seen: set[int]) -> None:
    if id(node) in seen:  # an alias: already checked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                child = _key(path, key_node.value)
                identity = (key_node.tag, key_node.value)
                line = key_node.start_mark.line + 1
                if identity in first_line:
                    raise _Invalid(
                        child,
                        f"duplicate key at line {line} (first at line {first_line[identity]}); "
                        "each key may appear only once",
                    )
                first_line[identity] = line
            else:
                child = path
            _reject_duplicate_keys(value_node, child, seen)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _reject_duplicate_keys(item, f"{path}[{position}]", seen)


# --------------------------------------------------------------------------- generic readers

_Reader = Callable[[Any, str], Any]  # (value, key path) -> typed value, or raise _Invalid
_REQUIRED: Any = object()  # marks a field without a default


@dataclass(frozen=True, slots=True)
class _Field:
    read: _Reader
    default: Any = _REQUIRED


def _key(path: str, name: object) -> str:
    return f"{path}.{name}" if path else str(name)


def _listed(names: Iterable[Any]) -> str:
    return ", ".join(sorted(str(name) for name in names))


def _show(value: Any) -> str:
    """A value as the operator wrote it: strings quoted, booleans and null in YAML spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "null" if value is None else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _yaml_type(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else "text value"


def _fail(path: str, message: str) -> NoReturn:
    raise _Invalid(path, message)


def _not_text_hint(value: Any) -> str:
    if isinstance(value, bool):
        return " (YAML reads unquoted yes/no/on/off/true/false as booleans; put it in quotes)"
    if isinstance(value, (int, float)):
        return " (put it in quotes)"
    return ""


def _check_keys(node: dict, allowed: Collection[str], path: str) -> None:
    for name in node:
        if name not in allowed:
            hint = _not_text_hint(name) if not isinstance(name, str) else ""
            _fail(_key(path, name), f"unknown key{hint}; allowed keys: {_listed(allowed)}")


def _read_fields(node: Any, path: str, fields: Mapping[str, _Field], *, optional: bool = False) -> dict[str, Any]:
    """Check a mapping against its field table and return the typed values (defaults filled in).

    ``optional``: a missing or empty (null) section means "all defaults".
    """
    if node is None and optional:
        node = {}
    if not isinstance(node, dict):
        _fail(path, f"{_show(node)} must be a mapping; allowed keys: {_listed(fields)}")
    _check_keys(node, fields, path)
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name in node:
            values[name] = spec.read(node[name], _key(path, name))
        elif spec.default is _REQUIRED:
            _fail(_key(path, name), "required key is missing")
        else:
            values[name] = spec.default
    return values


def _text(pattern: str | None = None, rule: str = "") -> _Reader:
    """A non-empty string, optionally matching ``pattern`` (``rule`` says what it allows)."""
    compiled = re.compile(pattern) if pattern else None

    def read(value: Any, path: str) -> str:
        if not isinstance(value, str):
            _fail(path, f"{_show(value)} must be text{_not_text_hint(value)}{'; ' + rule if rule else ''}")
        if not value.strip():
            _fail(path, f"{_show(value)} must not be empty{'; ' + rule if rule else ''}")
        if compiled is not None and not compiled.fullmatch(value):
            _fail(path, f"{_show(value)} is not allowed; {rule}")
        return value

    return read


def _integer(minimum: int | None = None, maximum: int | None = None) -> _Reader:
    if minimum == 1 and maximum is None:
        wanted = "a positive integer, e.g. 1"
    elif minimum is not None and maximum is not None:
        wanted = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        wanted = f"an integer of at least {minimum}"
    else:
        wanted = "an integer"

    def read(value: Any, path: str) -> int:
        # bool is a subclass of int, but `lot_size: true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (without quotes)" if isinstance(value, str) else ""
            _fail(path, f"{_show(value)} must be {wanted}{hint}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            _fail(path, f"{value} must be {wanted}")
        return value

    return read


_MAX_DECIMAL = Decimal(10) ** 18
_MAX_DECIMAL_PLACES = 18


def _yaml_decimal(value: Any, path: str, wanted: str) -> Decimal:
    """A YAML string or number as a Decimal (via ``str``, so 0.1 stays 0.1); anything else fails with `wanted`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        _fail(path, f"{_show(value)} {wanted}")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        _fail(path, f"{_show(value)} {wanted}")


def _positive_decimal(example: str) -> _Reader:
    """A decimal > 0 given as a YAML string or number (converted via ``Decimal(str(value))``)."""
    wanted = f'must be a positive decimal, e.g. "{example}"'

    def read(value: Any, path: str) -> Decimal:
        number = _yaml_decimal(value, path, wanted)
        if not number.is_finite() or number <= 0:
            _fail(path, f"{_show(value)} {wanted}")
        if number > _MAX_DECIMAL:
            _fail(path, f"{_show(value)} is too large; it must be at most {_MAX_DECIMAL:f}")
        if _decimal_places(number) > _MAX_DECIMAL_PLACES:
            _fail(path, f"{_show(value)} has too many decimal places; at most {_MAX_DECIMAL_PLACES} are allowed")
        return number

    return read


_MAX_BPS_PLACES = 4


def _basis_points(value: Any, path: str) -> Decimal:
    """A fee rate in basis points, -MAX_FEE_BPS..MAX_FEE_BPS, at most 4 decimal places; negative is a rebate."""
    wanted = (f'must be a decimal number of basis points from -{MAX_FEE_BPS} to {MAX_FEE_BPS}, e.g. "0.30" '
              "(negative: a rebate)")
    number = _yaml_decimal(value, path, wanted)
    if not number.is_finite() or abs(number) > MAX_FEE_BPS:
        _fail(path, f"{_show(value)} {wanted}")
    if _decimal_places(number) > _MAX_BPS_PLACES:
        _fail(path, f"{_show(value)} has too many decimal places; at most {_MAX_BPS_PLACES} are allowed")
    return number


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, f"{_show(value)} must be true or false (without quotes)")
    return value


def _one_of(allowed: tuple[Any, ...]) -> _Reader:
    def read(value: Any, path: str) -> Any:
        # Compare type as well as value so that `true` is not taken for 1.
        if not any(type(value) is type(choice) and value == choice for choice in allowed):
            _fail(path, f"{_show(value)} is not allowed; allowed values: {_listed(allowed)}")
        return value

    return read


_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def _utc_time(value: Any, path: str) -> time:
    """``"HH:MM"`` (24-hour, UTC) -> a tz-aware ``datetime.time``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 21:00 as the base-60 number 1260.
        hours, minutes = divmod(value, 60)
        _fail(
            path,
            f"{value} is not a time: YAML reads an unquoted {hours}:{minutes:02d} as a number; "
            f'put the time in quotes, e.g. "{hours:02d}:{minutes:02d}"',
        )
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        _fail(path, f'{_show(value)} must be a 24-hour UTC time "HH:MM" in quotes, e.g. "21:00"')
    return time(int(match[1]), int(match[2]), tzinfo=timezone.utc)


_non_empty_text = _text()
# Firm ids and CompIDs: visible ASCII, as they go into FIX CompID fields and sessions.cfg.
_identifier = _text(r"[!-~]+", "allowed: letters, digits and punctuation, no spaces")


def _database_url(value: Any, path: str) -> str:
    url = _non_empty_text(value, path)
    if not url.startswith(("sqlite:", "postgresql")):
        _fail(
            path,
            f"{redact_url(url)!r} is not supported; allowed: a URL starting with \"sqlite:\" "
            'or "postgresql", e.g. "sqlite:///var/audit.db" or "postgresql+psycopg://user@host/db"',
        )
    return url


def _raw(value: Any, path: str) -> Any:
    """For nested sections that their own function checks."""
    return value


# --------------------------------------------------------------------------- the schema

_port = _integer(1, 65535)

_VENUE = {
    "name": _Field(_non_empty_text, "FIXEX"),
    "trading_day_end": _Field(_utc_time, time(21, 0, tzinfo=timezone.utc)),
}
_FIX = {
    "host": _Field(_non_empty_text, "127.0.0.1"),
    "port": _Field(_port, 9876),
    "sender_comp_id": _Field(_identifier, "EXCHANGE"),
    "sessions_file": _Field(_non_empty_text, "sessions.cfg"),
}
_METRICS = {
    "host": _Field(_non_empty_text, "127.0.0.1"),
    "port": _Field(_port, 9877),
}
_DATABASE = {
    "url": _Field(_database_url, "sqlite:///var/audit.db"),
}
_JOURNAL = {
    "path": _Field(_non_empty_text, "var/journal"),
    "fsync": _Field(_one_of(JOURNAL_FSYNC_POLICIES), "group"),
    "group_commit_ms": _Field(_integer(1, 1000), 5),
}
_MARKET_DATA = {
    "port": _Field(_port, 9878),
    "max_unread_messages": _Field(_integer(10, 1_000_000), 2000),
    "stuck_logout_seconds": _Field(_integer(1, 3600), 10),
    "batch_milliseconds": _Field(_integer(1, 1000), 1),
}
_INSTRUMENT = {
    "symbol": _Field(_text(r"[A-Z0-9._-]{1,16}", "allowed: 1 to 16 characters from A-Z, 0-9, '.', '_', '-'")),
    "tick_size": _Field(_positive_decimal("0.01")),
    "lot_size": _Field(_integer(1)),
    "currency": _Field(_text(r"[A-Z]{3}", "allowed: 3 uppercase letters, e.g. USD")),
    "reference_price": _Field(_positive_decimal("190.00")),
    "price_band_tier": _Field(_one_of(PRICE_BAND_TIERS)),
    "price_decimals": _Field(_integer(0, 9), 4),
}
_fee_tier_name = _text(r"[A-Za-z0-9_.-]{1,32}", "allowed: 1 to 32 characters from A-Z, a-z, 0-9, '.', '_', '-'")
_FIRM = {
    "self_trade_prevention": _Field(_one_of(SELF_TRADE_PREVENTION_MODES), "cancel_resting"),
    "sessions": _Field(_raw),  # checked by _sessions, which needs the firm id
    "fee_tier": _Field(_fee_tier_name, None),  # checked against fees.tiers by _fees
}
def _password_hash(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _PASSWORD_HASH.fullmatch(value):
        _fail(path, "must be a salted hash \"scrypt$N$r$p$salt$hash\" as printed by `fixex hash-password`; "
                    "never the password itself")
    return value


def _firm_list(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        _fail(path, f"{_show(value)} must be a non-empty list of firm ids (leave the key out for all firms)")
    return tuple(_identifier(item, f"{path}[{index}]") for index, item in enumerate(value))


def _symbol_list(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        _fail(path, f"{_show(value)} must be a list of symbols, e.g. [TSLA, GOOG]")
    return tuple(_text(r"[A-Z0-9._-]{1,16}", "allowed: a symbol from `instruments`")(item, f"{path}[{index}]")
                 for index, item in enumerate(value))


_PASSWORD_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")
_SESSION = {
    "role": _Field(_one_of(SESSION_ROLES), "order_entry"),
    "cancel_on_disconnect": _Field(_boolean, True),
    "password_hash": _Field(_password_hash, None),
    "drop_copy_firms": _Field(_firm_list, None),
    "market_data": _Field(_boolean, False),
}
_RISK_LIMITS = {
    "max_order_quantity": _Field(_integer(1), DEFAULT_MAX_ORDER_QUANTITY),
    "max_order_notional": _Field(_positive_decimal("1000000000"), DEFAULT_MAX_ORDER_NOTIONAL),
    "max_messages_per_second": _Field(_integer(1, 1_000_000), DEFAULT_MAX_MESSAGES_PER_SECOND),
    "logout_messages_per_second": _Field(_integer(1, 1_000_000), DEFAULT_LOGOUT_MESSAGES_PER_SECOND),
    "price_collar_percent": _Field(_positive_decimal("10"), None),
    "price_collar_ticks": _Field(_integer(1), None),
    "market_order_protection_percent": _Field(_positive_decimal("5"), DEFAULT_MARKET_ORDER_PROTECTION_PERCENT),
    "credit_limit": _Field(_positive_decimal("50000000"), None),
    "max_position": _Field(_integer(1), None),
    "max_daily_loss": _Field(_positive_decimal("250000"), None),
    "restricted_symbols": _Field(_symbol_list, ()),
    "market_orders": _Field(_boolean, True),
    "kill_switch_on_credit_breach": _Field(_boolean, False),
}
_RISK_OVERRIDE = {name: _Field(spec.read, None) for name, spec in _RISK_LIMITS.items()}
_RISK = {
    "defaults": _Field(_raw, None),  # checked by _risk
    "firms": _Field(_raw, None),
}
_FEES = {
    "tiers": _Field(_raw, None),  # checked by _fees
    "default_tier": _Field(_fee_tier_name, None),
}
_FEE_TIER = {
    "maker_bps": _Field(_basis_points),
    "taker_bps": _Field(_basis_points),
}
_CIRCUIT_BREAKERS = {
    "enabled": _Field(_boolean, True),
    "tier_1_percent": _Field(_positive_decimal("5"), Decimal(5)),
    "tier_2_percent": _Field(_positive_decimal("10"), Decimal(10)),
    "low_price_percent": _Field(_positive_decimal("20"), Decimal(20)),
    "low_price": _Field(_positive_decimal("3.00"), Decimal("3.00")),
    "reference_window_seconds": _Field(_integer(1, 86_400), 300),
    "reference_review_seconds": _Field(_integer(1, 3_600), 30),
    "reference_update_percent": _Field(_positive_decimal("1"), Decimal(1)),
    "limit_state_seconds": _Field(_integer(1, 3_600), 15),
    "pause_seconds": _Field(_integer(1, 86_400), 300),
    "during_pause": _Field(_one_of(CIRCUIT_BREAKER_MODES), "queue"),
}
_TOP_LEVEL = frozenset({"venue", "fix", "metrics", "database", "journal", "market_data", "instruments", "firms",
                        "risk", "fees", "circuit_breakers"})
_REQUIRED_TOP_LEVEL = ("instruments", "firms")


# --------------------------------------------------------------------------- building Settings


def _settings(document: dict, file: str) -> Settings:
    _check_keys(document, _TOP_LEVEL, "")
    for name in _REQUIRED_TOP_LEVEL:
        if name not in document:
            _fail(name, "required section is missing")

    # Sections are checked in the order the shipped file lists them.
    venue = VenueSettings(**_section(document, "venue", _VENUE))
    fix = FixSettings(**_section(document, "fix", _FIX))
    metrics = MetricsSettings(**_section(document, "metrics", _METRICS))
    wildcard = {"0.0.0.0", "::"}
    if metrics.port == fix.port and (metrics.host == fix.host or {metrics.host, fix.host} & wildcard):
        _fail("metrics.port", f"{metrics.port} is already used by fix.port; choose another port")
    database = DatabaseSettings(**_section(document, "database", _DATABASE))
    journal = JournalSettings(**_section(document, "journal", _JOURNAL))
    market_data = MarketDataSettings(**_section(document, "market_data", _MARKET_DATA))
    for name, other in (("fix.port", fix.port), ("metrics.port", metrics.port)):
        if market_data.port == other:  # the feed listens on fix.host
            _fail("market_data.port", f"{market_data.port} is already used by {name}; choose another port")
    instruments = _instruments(document["instruments"])
    firms = _firms(document["firms"], fix.sender_comp_id)
    risk = _risk(document.get("risk"), {firm.firm_id for firm in firms}, {i.symbol for i in instruments})
    fees = _fees(document.get("fees"), firms)
    circuit_breakers = CircuitBreakerSettings(**_section(document, "circuit_breakers", _CIRCUIT_BREAKERS))
    for name in ("tier_1_percent", "tier_2_percent", "low_price_percent"):
        if getattr(circuit_breakers, name) >= 100:
            _fail(f"circuit_breakers.{name}", f"'{getattr(circuit_breakers, name)}' must be below 100 (a percentage)")
    return Settings(
        source=file,
        venue=venue,
        fix=fix,
        metrics=metrics,
        database=database,
        journal=journal,
        market_data=market_data,
        instruments=instruments,
        firms=firms,
        risk=risk,
        fees=fees,
        circuit_breakers=circuit_breakers,
    )


def _section(document: dict, name: str, fields: Mapping[str, _Field]) -> dict[str, Any]:
    """An optional top-level section: absent or empty means all defaults."""
    return _read_fields(document.get(name), name, fields, optional=True)


def _instruments(node: Any) -> tuple[InstrumentSettings, ...]:
    if not isinstance(node, list) or not node:
        _fail(
            "instruments",
            f"{_show(node)} must be a list with at least one instrument "
            f"(each a mapping with keys: {_listed(_INSTRUMENT)})",
        )
    instruments: list[InstrumentSettings] = []
    first_position: dict[str, int] = {}
    for position, entry in enumerate(node):
        path = f"instruments[{position}]"
        instrument = InstrumentSettings(**_read_fields(entry, path, _INSTRUMENT))
        _check_price_grid(instrument, path)
        if instrument.symbol in first_position:
            _fail(
                f"{path}.symbol",
                f"{instrument.symbol!r} is already used by instruments[{first_position[instrument.symbol]}]; "
                "symbols must be unique",
            )
        first_position[instrument.symbol] = position
        instruments.append(instrument)
    return tuple(instruments)


def _check_price_grid(instrument: InstrumentSettings, path: str) -> None:
    """tick_size must be a whole number of price units; reference_price a whole number of ticks."""
    tick, decimals = instrument.tick_size, instrument.price_decimals
    tick_units = instrument.to_units(tick)
    if tick_units is None:
        needed = _decimal_places(tick)
        _fail(
            f"{path}.tick_size",
            f"{tick:f} needs {needed} decimals but price_decimals is {decimals}; "
            f"set price_decimals to at least {needed} (at most 9) or use a coarser tick",
        )
    reference_units = instrument.to_units(instrument.reference_price)
    if reference_units is not None and reference_units % tick_units == 0:
        return
    numerator, denominator = instrument.reference_price.as_integer_ratio()
    floor_units = numerator * 10**decimals // denominator
    below = floor_units - floor_units % tick_units
    nearest = [
        f"{instrument.from_units(units).quantize(tick):f}" for units in (below, below + tick_units) if units > 0
    ]
    _fail(
        f"{path}.reference_price",
        f"{instrument.reference_price:f} is not a multiple of tick_size {tick:f}; "
        f"nearest allowed: {' or '.join(nearest)}",
    )


def _decimal_places(number: Decimal) -> int:
    """Digits after the decimal point, ignoring trailing zeros: 0.0100 -> 2."""
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


def _firms(node: Any, sender_comp_id: str) -> tuple[FirmSettings, ...]:
    if not isinstance(node, dict) or not node:
        _fail(
            "firms",
            f"{_show(node)} must be a mapping of firm id to firm settings with at least one firm "
            f"(each with keys: {_listed(_FIRM)})",
        )
    firms: list[FirmSettings] = []
    owner_of_comp_id: dict[str, str] = {}
    for firm_id, entry in node.items():
        path = _key("firms", firm_id)
        _identifier(firm_id, path)
        values = _read_fields(entry, path, _FIRM)
        sessions = _sessions(values.pop("sessions"), f"{path}.sessions", firm_id)
        for session in sessions:
            session_path = f"{path}.sessions.{session.comp_id}"
            if session.comp_id in owner_of_comp_id:
                _fail(
                    session_path,
                    f"CompID {session.comp_id!r} is already a session of firm {owner_of_comp_id[session.comp_id]}; "
                    f"session CompIDs must be unique across all firms (here firm {firm_id})",
                )
            if session.comp_id == sender_comp_id:
                _fail(session_path, f"CompID {session.comp_id!r} is the exchange's own fix.sender_comp_id")
            owner_of_comp_id[session.comp_id] = firm_id
        firms.append(FirmSettings(firm_id=firm_id, sessions=sessions, **values))
    firm_ids = {firm.firm_id for firm in firms}
    for firm in firms:
        for session in firm.sessions:
            if session.drop_copy_firms is None:
                continue
            path = f"firms.{firm.firm_id}.sessions.{session.comp_id}.drop_copy_firms"
            if session.role != "drop_copy":
                _fail(path, f"only a drop_copy session takes drop_copy_firms; this session's role is {session.role}")
            for firm_id in session.drop_copy_firms:
                if firm_id not in firm_ids:
                    _fail(path, f"unknown firm {firm_id!r}; firms defined under `firms`: {_listed(firm_ids)}")
    return tuple(firms)


def _sessions(node: Any, path: str, firm_id: str) -> tuple[SessionSettings, ...]:
    if not isinstance(node, dict) or not node:
        _fail(
            path,
            f"{_show(node)} must be a mapping of session CompID to session settings with at least "
            f"one session (each with keys: {_listed(_SESSION)})",
        )
    sessions = []
    for comp_id, entry in node.items():
        session_path = _key(path, comp_id)
        _identifier(comp_id, session_path)
        values = _read_fields(entry, session_path, _SESSION, optional=True)
        sessions.append(SessionSettings(comp_id=comp_id, firm_id=firm_id, **values))
    return tuple(sessions)


def _risk(node: Any, firm_ids: set[str], symbols: set[str]) -> RiskSettings:
    values = _read_fields(node, "risk", _RISK, optional=True)
    defaults = RiskLimits(**_read_fields(values["defaults"], "risk.defaults", _RISK_LIMITS, optional=True))
    overrides_node = values["firms"]
    if overrides_node is None:
        overrides_node = {}
    if not isinstance(overrides_node, dict):
        _fail(
            "risk.firms",
            f"{_show(overrides_node)} must be a mapping of firm id to limit overrides "
            f"(each with keys: {_listed(_RISK_OVERRIDE)})",
        )
    overrides = []
    for firm_id, entry in overrides_node.items():
        path = _key("risk.firms", firm_id)
        if firm_id not in firm_ids:
            _fail(path, f"unknown firm; firms defined under `firms`: {_listed(firm_ids)}")
        overrides.append(RiskOverride(firm_id=firm_id, **_read_fields(entry, path, _RISK_OVERRIDE, optional=True)))
    for path, limits in [("risk.defaults", defaults)] + [
            (_key("risk.firms", o.firm_id), o.apply_to(defaults)) for o in overrides]:
        for index, symbol in enumerate(limits.restricted_symbols):
            if symbol not in symbols:
                _fail(f"{path}.restricted_symbols[{index}]",
                      f"{symbol!r} is not an instrument; instruments: {_listed(symbols)}")
        if limits.price_collar_percent is not None and limits.price_collar_percent > 100:
            _fail(f"{path}.price_collar_percent",
                  f"'{limits.price_collar_percent}' must be at most 100 (a percentage), e.g. \"10\"")
        if limits.market_order_protection_percent > 100:
            _fail(f"{path}.market_order_protection_percent",
                  f"'{limits.market_order_protection_percent}' must be at most 100 (a percentage), e.g. \"5\"")
        if limits.logout_messages_per_second < limits.max_messages_per_second:
            _fail(f"{path}.logout_messages_per_second",
                  f"{limits.logout_messages_per_second} is below max_messages_per_second "
                  f"({limits.max_messages_per_second}): a session must be refused before it is logged out")
    return RiskSettings(defaults=defaults, firm_overrides=tuple(overrides))


def _fees(node: Any, firms: tuple[FirmSettings, ...]) -> FeeSettings:
    values = _read_fields(node, "fees", _FEES, optional=True)
    tiers_node = values["tiers"]
    if tiers_node is None:
        tiers = DEFAULT_FEE_TIERS
    else:
        if not isinstance(tiers_node, dict) or not tiers_node:
            _fail("fees.tiers", f"{_show(tiers_node)} must be a mapping of tier name to rates with at least one "
                                f"tier (each with keys: {_listed(_FEE_TIER)}), e.g. "
                                '{standard: {maker_bps: "-0.20", taker_bps: "0.30"}}')
        tiers = tuple(
            FeeTier(name=_fee_tier_name(name, _key("fees.tiers", name)),
                    **_read_fields(entry, _key("fees.tiers", name), _FEE_TIER))
            for name, entry in tiers_node.items())
    names = [tier.name for tier in tiers]
    default_tier = values["default_tier"]
    if default_tier is None:
        default_tier = "standard"
        if default_tier not in names:
            _fail("fees.default_tier", f"required when fees.tiers has no tier named 'standard'; "
                                       f"allowed tiers: {_listed(names)}")
    elif default_tier not in names:
        _fail("fees.default_tier", f"unknown fee tier {default_tier!r}; allowed tiers: {_listed(names)}")
    for firm in firms:
        if firm.fee_tier is not None and firm.fee_tier not in names:
            _fail(_key(_key("firms", firm.firm_id), "fee_tier"),
                  f"unknown fee tier {firm.fee_tier!r}; allowed tiers (defined under fees.tiers): {_listed(names)}")
    return FeeSettings(tiers=tiers, default_tier=default_tier)
