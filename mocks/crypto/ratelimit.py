"""Request-weight windows in virtual time, per API key or client address, as the venues count
them: a fixed window (Binance's ``X-MBX-USED-WEIGHT-1M`` resets on the minute), a cost per
request, and a refusal once the window's limit would be passed, with the seconds until it resets.
"""

from __future__ import annotations

from dataclasses import dataclass

from system.clock import NS_PER_SECOND, Clock

__all__ = ["Admission", "RateLimiter"]


@dataclass(frozen=True)
class Admission:
    allowed: bool
    used: int  # the weight counted in this window, this request included when allowed
    retry_after_s: int  # whole seconds until the window resets (0 when allowed)


class RateLimiter:
    def __init__(self, clock: Clock, limit: int, window_s: int) -> None:
        self.clock, self.limit, self.window_ns = clock, limit, window_s * NS_PER_SECOND
        self._used: dict[str, tuple[int, int]] = {}  # who -> (window index, weight used)

    def admit(self, who: str, cost: int = 1) -> Admission:
        now = self.clock.now_ns()
        window = now // self.window_ns
        w, used = self._used.get(who, (window, 0))
        if w != window:
            used = 0
        if used + cost > self.limit:
            self._used[who] = (window, used)
            left = (window + 1) * self.window_ns - now
            return Admission(False, used, max(1, -(-left // NS_PER_SECOND)))
        self._used[who] = (window, used + cost)
        return Admission(True, used + cost, 0)

    def used(self, who: str) -> int:
        w, used = self._used.get(who, (-1, 0))
        return used if w == self.clock.now_ns() // self.window_ns else 0
