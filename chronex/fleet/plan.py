"""A fleet's plan: one task per (session, seed) between two dates, each fully resolved on the
client (times in ns, configuration parsed) so a worker needs nothing but the task to run it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import msgspec

from sim.markets.seeds import derive_seed

_SEEDS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
MAX_SEEDS = 10_000


class PlanError(ValueError):
    """A fleet option that cannot be planned; the message names the value."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"1-5"``, ``"7"`` or ``"1,3,10-12"`` as a sorted tuple of distinct seeds."""
    seeds: set[int] = set()
    for part in text.split(","):
        m = _SEEDS.match(part)
        if not m:
            raise PlanError(f"--seeds {text!r}: {part.strip()!r} is not a seed or a range like 1-5")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise PlanError(f"--seeds {text!r}: range {lo}-{hi} runs backwards")
        if hi - lo + 1 + len(seeds) > MAX_SEEDS:
            raise PlanError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds")
        seeds.update(range(lo, hi + 1))
    return tuple(sorted(seeds))


@dataclass(frozen=True)
class DayTask:
    """One simulated day of a fleet. ``risk``/``pricing`` are parsed configurations (or None)."""

    venue: str  # profile name or .toml path, as simulated_day takes it
    venue_name: str  # the profile's name, for file names
    trade_date: date
    seed: int
    instruments: tuple[str, ...] = ()
    start_ns: int | None = None
    until_ns: int | None = None
    activity: float = 1.0
    risk: Any = None
    pricing: Any = None
    sample_every_s: float = 5.0
    settings: str = field(default="", compare=False)  # the options as typed, for the manifest
    fixed_seed: bool = False  # run every date under ``seed`` itself (as `chronex sim --seed` does)

    @property
    def run_seed(self) -> int:
        """The simulator's seed for this day. The simulator's streams depend on the seed alone, so
        one seed on every date would replay the same order flow each day: by default each date
        gets its own seed, derived from (fleet seed, date) and recorded in the manifest."""
        if self.fixed_seed:
            return self.seed
        return derive_seed(self.seed, f"fleet-day/{self.trade_date.isoformat()}") >> 1  # fits int64

    @property
    def log_name(self) -> str:
        return f"{_safe(self.venue_name)}-{self.trade_date.isoformat()}-s{self.seed}.db"

    @property
    def key(self) -> str:
        """The Dask key: stable, so a resubmitted day is recognised as the same task."""
        return f"chronex-day-{self.log_name[:-3]}-{self.fingerprint[:12]}"

    @property
    def fingerprint(self) -> str:
        """A hash of everything that shapes the log, checked when a fleet resumes in a folder."""
        blob = msgspec.json.encode(
            [
                self.venue_name,
                self.trade_date.isoformat(),
                self.run_seed,
                list(self.instruments),
                self.start_ns,
                self.until_ns,
                repr(self.activity),
                msgspec.to_builtins(self.risk),
                msgspec.to_builtins(self.pricing),
            ],
            order="deterministic",
        )
        return hashlib.sha256(blob).hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def sessions(calendar: Any, first: date, last: date) -> list[date]:
    """The trade dates of ``calendar`` (a VenueCalendar) from ``first`` to ``last`` inclusive."""
    if last < first:
        raise PlanError(f"--to {last} is before --from {first}")
    days: list[date] = []
    d = first
    while d <= last:
        if calendar.session(d) is not None:
            days.append(d)
        d += timedelta(days=1)
    return days
