"""Inline pre-trade risk: pure checks applied by the one writer before orders reach the book."""

from risk.limits import FirmLimits, LimitBreach, OrderLimits

__all__ = ["FirmLimits", "LimitBreach", "OrderLimits"]
