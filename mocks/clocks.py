"""The one clock a set of mocks shares: their own (paced from a start) or ``chronex serve``'s.

- ``PacedClock``: ``start + (wall elapsed) x speed``; what ``chronex mock`` runs on by default,
  like ``chronex serve --clock paced``.
- ``FollowClock``: the time of a running ``chronex serve``, read over its admin channel (op
  ``now``) every ``every_s`` seconds by a thread. Under ``serve --clock virtual`` the server's time
  moves only when a test or an operator moves it, so the mocks' faults, quotes and stamps move
  with it; under ``paced``/``wall`` it follows the server's pace. A mock sees the server's time at
  most ``every_s`` late (20 ms by default), never ahead of it, and never going backwards.
"""

from __future__ import annotations

import threading
from fractions import Fraction

from mocks.base import MockError
from system.clock import Clock

__all__ = ["FollowClock", "PacedClock"]


class PacedClock:
    def __init__(self, wall: Clock, *, start_ns: int, speed: Fraction | int | str = 1) -> None:
        self.wall = wall
        self.start_ns = start_ns
        self.speed = Fraction(speed)
        if self.speed <= 0:
            raise MockError(f"--speed {speed}: must be positive")
        self._wall0 = wall.now_ns()

    def now_ns(self) -> int:
        return self.start_ns + int((self.wall.now_ns() - self._wall0) * self.speed)


class FollowClock:
    """``chronex serve``'s clock at ``host:port`` (its admin channel)."""

    def __init__(self, address: str, *, every_s: float = 0.02) -> None:
        from system.server.admin import AdminClient, AdminError

        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise MockError(f"clock.follow {address!r} is not host:port of a chronex serve admin channel")
        try:
            self._client = AdminClient(host, int(port), timeout=10.0)
            self._now = self._client.now()
        except (OSError, AdminError) as e:
            raise MockError(f"clock.follow {address!r}: no chronex serve answers there ({e})") from None
        self.address = address
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="mock-follow-clock", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                t = self._client.now()
            except Exception:  # the server went away: keep the last time, the mocks stop soon
                return
            if t > self._now:
                self._now = t

    def now_ns(self) -> int:
        return self._now

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._client.close()
