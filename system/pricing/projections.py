"""Read models of prices: marks and FX rates now and at any past instant.

History entries are ``(valid time, seq, price)``. "As of valid time T" takes the last entry with
valid time <= T (a later seq wins a tie, so a correction logged afterwards for the same instant
replaces the original); ``known_at_seq`` leaves out what was logged after that seq, which answers
"what did we believe then" (bitemporal, as in system/corrections.py).
"""

from __future__ import annotations

from bisect import insort

from system.eventlog.codec import LoggedEvent
from system.pricing.fx import FxTable, Rate
from system.runtime import Projection, on_event


class MarksProjection(Projection):
    name = "marks"

    def __init__(self, fx_pivots: tuple[str, ...] = ("USD",)) -> None:
        super().__init__()
        self.history: dict[str, list[tuple[int, int, int]]] = {}
        self.methods: dict[str, str] = {}
        self.fx = FxTable(fx_pivots)
        self.fx_history: dict[tuple[str, str], list[tuple[int, int, Rate]]] = {}

    # -- queries ---------------------------------------------------------------------------------
    def mark(self, instrument: str) -> int | None:
        """The mark in force at the newest valid time (corrections included)."""
        h = self.history.get(instrument)
        return h[-1][2] if h else None

    def mark_at(self, instrument: str, t: int, known_at_seq: int | None = None) -> int | None:
        best: tuple[int, int, int] | None = None
        for entry in self.history.get(instrument, ()):
            if entry[0] > t:
                break
            if known_at_seq is None or entry[1] <= known_at_seq:
                best = entry
        return None if best is None else best[2]

    def marks(self) -> dict[str, int]:
        return {i: h[-1][2] for i, h in sorted(self.history.items()) if h}

    def method(self, instrument: str) -> str | None:
        return self.methods.get(instrument)

    def fx_rate(self, base: str, quote: str) -> Rate | None:
        return self.fx.rate(base, quote)

    def fx_at(self, base: str, quote: str, t: int) -> Rate | None:
        """A directly set (or published cross) rate as of valid time ``t``."""
        best: Rate | None = None
        for vt, _, r in self.fx_history.get((base, quote), ()):
            if vt > t:
                break
            best = r
        return best

    # -- fold ------------------------------------------------------------------------------------
    @on_event("MarkPriceSet")
    def _mark(self, ev: LoggedEvent) -> None:
        r = ev.record
        insort(self.history.setdefault(r.instrument, []), (ev.valid_time, ev.seq, r.price))  # type: ignore[attr-defined]
        self.methods[r.instrument] = r.method  # type: ignore[attr-defined]

    @on_event("PriceCorrected")
    def _corrected(self, ev: LoggedEvent) -> None:
        r = ev.record
        insort(self.history.setdefault(r.instrument, []), (r.at, ev.seq, r.price))  # type: ignore[attr-defined]

    @on_event("FxRateSet")
    def _fx(self, ev: LoggedEvent) -> None:
        r = ev.record
        rate = (r.mantissa, r.exponent)  # type: ignore[attr-defined]
        self.fx.set(r.base, r.quote, *rate)  # type: ignore[attr-defined]
        insort(self.fx_history.setdefault((r.base, r.quote), []), (ev.valid_time, ev.seq, rate))  # type: ignore[attr-defined]
