"""The knobs of simulated order flow: a frozen value read from a profile's ``[flow]`` table.

Floats are fine here: flow parameters shape the agents' decisions, never a logged record (every
price and quantity an agent sends is an int on the instrument's grid).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class FlowError(ValueError):
    """A flow parameter that cannot be used; the message names the key and the value."""


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Default simulated flow for one venue. Rates are per instrument per second at the day's
    average intensity (multiplied by the instrument's ``activity``)."""

    # Market makers: several compete, each with its own spread, size and latency (cycled lists).
    market_makers: int = 3
    mm_half_spread_ticks: tuple[int, ...] = (1, 1, 2)
    mm_min_half_spread_bp: float = 0.0  # floor on the half spread for very fine tick grids
    mm_levels: int = 2
    mm_level_gap_ticks: int = 2
    mm_size_lots: tuple[int, ...] = (3, 5, 8)
    mm_refresh_s: float = 4.0  # mean time between a maker's looks at the market
    mm_latency_ms: tuple[float, ...] = (0.3, 0.8, 2.0)
    mm_skew_ticks_per_lot: float = 0.1  # quotes shift against inventory by this per lot held
    mm_max_inventory_lots: int = 60  # beyond this a maker stops quoting the side that adds to it
    # Noise traders: Poisson arrivals with a U-shaped intraday intensity.
    noise_rate_per_s: float = 0.5
    noise_aggressive_fraction: float = 0.35
    noise_cancel_fraction: float = 0.3
    noise_max_resting: int = 40
    noise_size_lots: float = 2.0  # mean of a geometric size in lots
    noise_passive_depth_ticks: float = 4.0  # mean distance of passive orders behind the touch
    noise_latency_ms: float = 5.0
    preopen_rate_factor: float = 0.15  # intensity in pre-open and call phases relative to the mean
    u_open: float = 2.0  # extra intensity at the open, decaying over u_decay_minutes
    u_close: float = 1.5  # extra intensity towards the close
    u_afternoon_open: float = 0.8  # extra intensity after a lunch break
    u_decay_minutes: float = 25.0
    # Momentum traders follow recent moves; informed traders trade towards the fair value.
    momentum_rate_per_s: float = 0.04
    momentum_lookback_s: float = 60.0
    momentum_threshold_ticks: int = 4
    informed_rate_per_s: float = 0.05
    informed_threshold_ticks: int = 2
    agent_latency_ms: float = 10.0  # momentum and informed traders
    # Fair value: a random walk with jumps on a fixed step.
    fair_step_s: float = 1.0
    overnight_gap_vol: float = 0.006
    jumps_per_day: float = 1.0
    jump_vol: float = 0.006

    def replace(self, **changes: Any) -> FlowConfig:
        """A copy with ``changes`` applied and checked (unknown keys and bad values raise FlowError)."""
        return flow_from_mapping(changes, base=self)

    def check(self) -> None:
        """Raise FlowError naming the first unusable value."""
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            vals = v if isinstance(v, tuple) else (v,)
            if isinstance(v, tuple) and not v:
                raise FlowError(f"flow {f.name} = [] must list at least one value")
            for x in vals:
                if x < 0:
                    raise FlowError(f"flow {f.name} = {v!r} must not be negative")
        if self.fair_step_s <= 0:
            raise FlowError(f"flow fair_step_s = {self.fair_step_s!r} must be positive")
        if self.mm_refresh_s <= 0:
            raise FlowError(f"flow mm_refresh_s = {self.mm_refresh_s!r} must be positive")
        if any(t < 1 for t in self.mm_half_spread_ticks):
            raise FlowError(f"flow mm_half_spread_ticks = {self.mm_half_spread_ticks!r} must be >= 1")
        if any(s < 1 for s in self.mm_size_lots):
            raise FlowError(f"flow mm_size_lots = {self.mm_size_lots!r} must be >= 1")
        if self.mm_levels < 1 and self.market_makers:
            raise FlowError(f"flow mm_levels = {self.mm_levels!r} must be >= 1")
        for name in ("noise_aggressive_fraction", "noise_cancel_fraction"):
            if getattr(self, name) > 1:
                raise FlowError(f"flow {name} = {getattr(self, name)!r} must be a fraction in 0..1")


_FIELDS = {f.name: f for f in dataclasses.fields(FlowConfig)}


def flow_from_mapping(
    data: Mapping[str, Any], *, base: FlowConfig | None = None, where: str = "flow"
) -> FlowConfig:
    """A FlowConfig from TOML-style values over ``base``; errors name ``where.key`` and the value."""
    base = base if base is not None else FlowConfig()
    changes: dict[str, Any] = {}
    for key in sorted(data):
        value = data[key]
        f = _FIELDS.get(key)
        if f is None:
            raise FlowError(
                f"{where}.{key} = {value!r}: unknown flow parameter (known: {', '.join(_FIELDS)})"
            )
        current = getattr(base, key)
        try:
            changes[key] = _coerce(value, current)
        except (TypeError, ValueError):
            kind = "a list of numbers" if isinstance(current, tuple) else type(current).__name__
            raise FlowError(f"{where}.{key} = {value!r}: expected {kind}") from None
    out = dataclasses.replace(base, **changes)
    try:
        out.check()
    except FlowError as e:
        raise FlowError(f"{where}: {e}") from None
    return out


def _coerce(value: Any, like: Any) -> Any:
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(like, tuple):
        items = value if isinstance(value, list | tuple) else [value]
        elem = like[0] if like else 0
        return tuple(_coerce(v, elem) for v in items)
    if isinstance(like, int):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("not an integer")
        return int(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError(type(value).__name__)
