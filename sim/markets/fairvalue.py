"""The fair value of every simulated instrument: a correlated random walk in log price with jumps.

Each instrument's log price moves by its loadings on common factors (a market index, USD/JPY, ...)
plus its own idiosyncratic noise, so related instruments and FX move together; EUR/JPY loads on
USDJPY and EURUSD, BTC/USD and BTC/JPY share BTCUSD. Volatilities are per trading day and spread
over the session's trading seconds, stepped every ``fair_step_s``. Fair values are floats in int
price units: agents put them on the tick grid before sending anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from random import Random

from sim.markets.profile import InstrumentProfile


class FairValueModel:
    def __init__(
        self,
        specs: Sequence[InstrumentProfile],
        factors: Sequence[tuple[str, float]],
        rng: Random,
        *,
        step_s: float,
        day_seconds: float,
        overnight_gap_vol: float = 0.0,
        jumps_per_day: float = 0.0,
        jump_vol: float = 0.0,
    ) -> None:
        self.ids = [s.id for s in specs]
        self.index = {iid: i for i, iid in enumerate(self.ids)}
        self.rng = rng
        self.factor_names = [f for f, _ in factors]
        fidx = {f: k for k, f in enumerate(self.factor_names)}
        self.step_s = step_s
        self.day_seconds = day_seconds
        self._factor_vol = [v for _, v in factors]
        self._idio_vol = [s.idio_daily_vol for s in specs]
        self._loads = [[(fidx[f], b) for f, b in s.factors] for s in specs]
        self._jump_p = jumps_per_day * step_s / day_seconds
        self._jump_vol = jump_vol
        self.vol_multiplier = 1.0  # a fast market multiplies every volatility
        self.inst_multiplier = [1.0] * len(specs)
        self._scale()
        refs = [float(s.instrument.reference_price or 1) for s in specs]
        self.log = [math.log(r) for r in refs]
        if overnight_gap_vol:
            # The night's news: the opening auction finds a price away from the reference.
            shocks = [rng.gauss(0.0, overnight_gap_vol) for _ in self.factor_names]
            for i in range(len(self.log)):
                move = sum(b * shocks[k] for k, b in self._loads[i]) / max(1, len(self._loads[i]))
                self.log[i] += move + rng.gauss(0.0, overnight_gap_vol / 2)
        self.value = [math.exp(x) for x in self.log]

    def _scale(self) -> None:
        root = math.sqrt(self.step_s / self.day_seconds)
        self._f_step = [v * root for v in self._factor_vol]
        self._i_step = [v * root for v in self._idio_vol]

    def price(self, instrument: str) -> float:
        """The fair value now, in the instrument's int price units."""
        return self.value[self.index[instrument]]

    def step(self) -> None:
        """Advance one step of ``step_s`` seconds."""
        rng = self.rng
        gauss = rng.gauss
        m = self.vol_multiplier
        z = [gauss(0.0, 1.0) * s * m for s in self._f_step]
        jp, jv = self._jump_p, self._jump_vol
        log, value, im = self.log, self.value, self.inst_multiplier
        for i, loads in enumerate(self._loads):
            dx = gauss(0.0, 1.0) * self._i_step[i] * m * im[i]
            for k, b in loads:
                dx += b * z[k]
            if jp and rng.random() < jp:
                dx += gauss(0.0, jv)
            x = log[i] + dx
            log[i] = x
            value[i] = math.exp(x)

    def jump(self, instrument: str, move_bp: float) -> None:
        """A news jump: the fair value moves by ``move_bp`` basis points at once."""
        i = self.index[instrument]
        self.log[i] += math.log1p(move_bp / 10_000)
        self.value[i] = math.exp(self.log[i])
