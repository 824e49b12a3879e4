"""The FIX connection every FIX mock uses: records its traffic and holds outbound messages while a
``latency`` fault is active, on the mocks' shared clock.

``fix_link(mock, ctx)`` returns a ``FixConnection`` class for an acceptor (``connection()``) or an
initiator (``FixInitiator(link=...)``). Links are named ``{prefix}/{n}``: the n-th connection of
that mock, which is how a recording groups its traffic for ``--replay``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any, ClassVar

from mocks.base import MockContext, Recorder
from mocks.faults import FaultSchedule
from system.clock import Clock
from system.gateways.fix.transport import FixConnection

__all__ = ["MockLink", "fix_link"]


def _no_record(mock: str, link: str, direction: str, payload: bytes) -> None:
    return None


class MockLink(FixConnection):
    mock: ClassVar[str] = ""
    record: ClassVar[Recorder] = _no_record
    schedule: ClassVar[FaultSchedule | None] = None
    clock: ClassVar[Clock | None] = None
    counter: ClassVar[Iterator[int]] = itertools.count(1)
    prefix: ClassVar[str] = "fix"
    live: ClassVar[set[MockLink]] = set()

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.link_name = f"{self.prefix}/{next(self.counter)}"
        self._held: deque[tuple[int, bytes, int, str]] = deque()
        self.live.add(self)

    def data_received(self, data: bytes) -> None:
        type(self).record(self.mock, self.link_name, "in", data)
        super().data_received(data)

    def flush(self) -> None:
        if self._out and self.transport is not None and not self.transport.is_closing():
            type(self).record(self.mock, self.link_name, "out", b"".join(self._out))
        super().flush()

    def write_now(self, raw: bytes) -> None:
        type(self).record(self.mock, self.link_name, "out", raw)
        super().write_now(raw)

    def send_frame(self, raw: bytes, seq: int, msg_type: str) -> None:
        sched = self.schedule
        f = sched.active(self.mock, "latency", self.link_name) if sched is not None else None
        if f is None and not self._held:
            super().send_frame(raw, seq, msg_type)
            return
        assert self.clock is not None
        now = self.clock.now_ns()
        due = now + (f.latency_ns if f is not None else 0)
        if self._held:  # never overtake what is already held: FIX is in sequence
            due = max(due, self._held[-1][0])
        self._held.append((due, raw, seq, msg_type))

    def release(self) -> None:
        """Send what a latency fault held and is now due (the owner calls this on its ticks)."""
        if not self._held or self.clock is None:
            return
        now = self.clock.now_ns()
        while self._held and self._held[0][0] <= now:
            _, raw, seq, msg_type = self._held.popleft()
            super().send_frame(raw, seq, msg_type)

    def connection_lost(self, exc: Exception | None) -> None:
        self.live.discard(self)
        super().connection_lost(exc)


def fix_link(mock: str, ctx: MockContext, prefix: str = "fix") -> type[MockLink]:
    """A ``MockLink`` class bound to one mock's recorder, faults and clock."""
    attrs: dict[str, Any] = {
        "mock": mock,
        "record": staticmethod(ctx.record),
        "schedule": ctx.faults,
        "clock": ctx.clock,
        "counter": itertools.count(1),
        "prefix": prefix,
        "live": set(),
    }
    return type(f"{mock.title()}Link", (MockLink,), attrs)


def release_all(link: type[MockLink]) -> None:
    for conn in list(link.live):
        conn.release()
