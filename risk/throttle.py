"""Message throttles: how many messages a session sent in the last second.

Pure and O(1) amortized: timestamps come from the caller (the gateway's clock), and
each session keeps a FIFO of the arrival times still inside the window, never more
than its logout threshold. Above `refuse_above` a message is refused; above
`log_out_above` the session is to be logged out. Refused messages count too: a
session that keeps sending while refused is the one that gets logged out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

WINDOW_NS = 1_000_000_000


class ThrottleVerdict(Enum):
    ADMIT = "admit"
    REFUSE = "refuse"
    LOG_OUT = "log out"


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    refuse_above: int  # messages per second
    log_out_above: int


class SessionThrottle:
    __slots__ = ("limits", "_arrivals")

    def __init__(self, limits: ThrottleLimits) -> None:
        if limits.log_out_above < limits.refuse_above:
            raise ValueError("the logout threshold must not be below the refuse threshold")
        self.limits = limits
        self._arrivals: deque[int] = deque()

    def admit(self, now_ns: int) -> ThrottleVerdict:
        arrivals = self._arrivals
        horizon = now_ns - WINDOW_NS
        while arrivals and arrivals[0] <= horizon:
            arrivals.popleft()
        arrivals.append(now_ns)
        if len(arrivals) > self.limits.log_out_above:
            arrivals.popleft()  # bounded: the logout threshold is the most it ever needs to remember
            return ThrottleVerdict.LOG_OUT
        if len(arrivals) > self.limits.refuse_above:
            return ThrottleVerdict.REFUSE
        return ThrottleVerdict.ADMIT

    @property
    def in_window(self) -> int:
        return len(self._arrivals)

    def reset(self) -> None:
        """Forget the history (a new logon starts a new count)."""
        self._arrivals.clear()
