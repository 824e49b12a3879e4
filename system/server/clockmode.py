"""Clock modes of a served system: who moves the virtual clock that stamps every command.

The engine always runs on one controllable clock (``sim.clock.VirtualClock`` in practice), so
sessions, auctions and expiries fire through the same timers in every mode. Modes differ only in
what moves that clock:

- ``virtual``: nothing but the admin channel (set, advance, run until an instant or a phase);
- ``paced``: the wall clock, at ``speed`` virtual seconds per wall second, from any start;
- ``wall``: paced at speed 1 from the wall clock's own time.

The wall clock is injected (``system.clock.WallClock`` in production), so this module never reads
the host's time itself.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

from system.clock import Clock


class ClockModeError(Exception):
    """A clock request this mode refuses (moving a paced clock by hand, going backwards)."""


class ControllableClock(Clock, Protocol):
    """A clock that time can be moved on, firing its timers on the way (``VirtualClock``)."""

    def set(self, t_ns: int) -> None: ...

    def advance(self, delta_ns: int) -> None: ...

    def run_until(self, t_ns: int) -> None: ...


class ClockMode:
    """Virtual time moved only through the admin channel."""

    name = "virtual"
    controllable = True

    def __init__(self, clock: ControllableClock) -> None:
        self.clock = clock

    def pump(self) -> None:
        """Bring the clock up to the time this mode says it is, firing due timers (no-op here)."""

    def now_ns(self) -> int:
        return self.clock.now_ns()

    def _check(self, what: str) -> None:
        if not self.controllable:
            raise ClockModeError(f"cannot {what}: the clock is {self.name}, it follows the wall clock")

    def set(self, t_ns: int) -> None:
        self._check("set the time")
        self.clock.set(t_ns)

    def advance(self, delta_ns: int) -> None:
        self._check("advance the time")
        if delta_ns < 0:
            raise ClockModeError(f"cannot advance by a negative duration ({delta_ns} ns)")
        self.clock.advance(delta_ns)

    def run_until(self, t_ns: int) -> None:
        self._check("run the clock")
        now = self.clock.now_ns()
        if t_ns < now:
            raise ClockModeError(f"cannot run back from {now} to {t_ns}")
        self.clock.run_until(t_ns)


class PacedMode(ClockMode):
    """Virtual time that follows the wall clock at ``speed`` from ``start_ns``.

    ``speed`` is exact (a ``Fraction``), so virtual time is a pure function of the wall reading.
    """

    name = "paced"
    controllable = False

    def __init__(
        self, clock: ControllableClock, wall: Clock, *, start_ns: int, speed: Fraction | int | str = 1
    ) -> None:
        super().__init__(clock)
        self.speed = Fraction(speed)
        if self.speed <= 0:
            raise ClockModeError(f"speed must be positive, got {speed}")
        self.wall = wall
        self.start_ns = start_ns
        self._wall0 = wall.now_ns()
        if start_ns > clock.now_ns():
            clock.set(start_ns)

    def target(self) -> int:
        """The virtual time the wall clock says it is now."""
        return self.start_ns + int((self.wall.now_ns() - self._wall0) * self.speed)

    def pump(self) -> None:
        t = self.target()
        if t > self.clock.now_ns():
            self.clock.run_until(t)


class WallMode(PacedMode):
    """Virtual time equal to the wall clock's."""

    name = "wall"

    def __init__(self, clock: ControllableClock, wall: Clock) -> None:
        super().__init__(clock, wall, start_ns=wall.now_ns(), speed=1)
