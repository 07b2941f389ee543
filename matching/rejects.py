"""Expected failures as values. Each reason's value is its FIX 5.0 SP2 code.

The gateway maps a code a session's FIX version lacks to that version's nearest
valid one (see fix_gateway); the core only ever names the precise reason.
"""

from __future__ import annotations

from enum import IntEnum


class OrderRejectReason(IntEnum):
    """FIX OrdRejReason (103)."""

    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    EXCEEDS_LIMIT = 3
    TOO_LATE_TO_ENTER = 4
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6
    UNSUPPORTED_ORDER_CHARACTERISTIC = 11
    INCORRECT_QUANTITY = 13
    PRICE_EXCEEDS_BAND = 16
    INVALID_PRICE_INCREMENT = 18
    OTHER = 99


class CancelRejectReason(IntEnum):
    """FIX CxlRejReason (102)."""

    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    ALREADY_PENDING = 3
    DUPLICATE_CLORDID = 6
    PRICE_EXCEEDS_BAND = 7
    INVALID_PRICE_INCREMENT = 18
    OTHER = 99


class MassCancelRejectReason(IntEnum):
    """FIX MassCancelRejectReason (532)."""

    UNKNOWN_SECURITY = 1
    OTHER = 99
