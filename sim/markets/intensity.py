"""The U-shaped intraday intensity of order flow, shaped on the venue's session.

    u(t) = 1 + u_open * e^(-(t - open)/tau) + u_afternoon_open * e^(-(t - break_end)/tau)
             + u_close * e^(-(close - t)/tau)

normalised so its mean over the session's trading time is 1: a flow rate "per second at the
day's average intensity" is then what a whole day delivers on average.
"""

from __future__ import annotations

import math

from sim.clock import Session
from sim.markets.flow import FlowConfig
from system.clock import NS_PER_SECOND
from system.engine import Phase

TRADING = (Phase.CONTINUOUS, Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION)


class Intensity:
    def __init__(self, session: Session | None, flow: FlowConfig) -> None:
        self.a_open, self.a_close, self.a_pm = flow.u_open, flow.u_close, flow.u_afternoon_open
        self.tau = max(flow.u_decay_minutes, 1e-3) * 60 * NS_PER_SECOND
        self.spans: list[tuple[int, int]] = []  # trading spans (start, end)
        if session is None:
            self.open = self.close = 0
            self.resumes: list[int] = []
            self.norm = 1.0
            return
        start: int | None = None
        for tr in session.transitions:
            if tr.phase in TRADING and start is None:
                start = tr.at
            elif tr.phase not in TRADING and start is not None:
                if tr.at > start:
                    self.spans.append((start, tr.at))
                start = None
        self.open, self.close = session.open, session.close
        self.resumes = [b for _, b in session.breaks]
        self.norm = 1.0
        self.norm = self._mean()

    @property
    def trading_seconds(self) -> float:
        return sum(b - a for a, b in self.spans) / NS_PER_SECOND

    def raw(self, t: int) -> float:
        u = 1.0
        tau = self.tau
        if self.a_open and t >= self.open:
            u += self.a_open * math.exp(-(t - self.open) / tau)
        if self.a_pm:
            for r in self.resumes:
                if t >= r:
                    u += self.a_pm * math.exp(-(t - r) / tau)
        if self.a_close and t <= self.close:
            u += self.a_close * math.exp(-(self.close - t) / tau)
        return u

    def __call__(self, t: int) -> float:
        """The intensity multiplier at ``t`` (mean 1 over the trading day)."""
        return self.raw(t) / self.norm

    def _mean(self) -> float:
        step = 30 * NS_PER_SECOND
        total = n = 0.0
        for a, b in self.spans:
            t = a + step // 2
            while t < b:
                total += self.raw(t)
                n += 1
                t += step
        return total / n if n else 1.0
