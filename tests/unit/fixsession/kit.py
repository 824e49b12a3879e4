"""What the FIX session test cases share: the acceptance-profile acceptor on fixed clocks, a peer,
and messages written as ``tag=value|...``."""

from __future__ import annotations

from datetime import UTC, datetime

from system.clock import NS_PER_SECOND, FixedClock, from_datetime
from system.gateways.fix import FixAcceptor, SessionsConfig, store_factory
from system.gateways.fix.acceptance import AcceptanceApplication, acceptance_sessions
from system.gateways.fix.message import FixMessage
from system.gateways.fix.testkit import Peer

T0 = from_datetime(datetime(2031, 1, 6, 0, 0, tzinfo=UTC))
SKIP = (8, 9, 10, 52, 122)
ORDER = [(11, "ID"), (21, 3), (40, 1), (54, 1), (55, "INTC"), (60, "20310106-00:00:00")]
ECHO = "11=ID|21=3|40=1|54=1|55=INTC|60=20310106-00:00:00"


def s(msg: FixMessage) -> str:
    return "|".join(f"{t}={v.decode()}" for t, v in msg.fields if t not in SKIP)


def ss(msgs: list[FixMessage]) -> list[str]:
    return [s(m) for m in msgs]


LOGON_REPLY = "35=A|34=1|49=ISLD|56=TW44|98=0|108=30"


class World:
    def __init__(self, sessions: SessionsConfig | None = None, store: str = "memory:") -> None:
        self.clock = FixedClock(T0)
        self.timers = FixedClock(0)
        self.app = AcceptanceApplication()
        self.acceptor = FixAcceptor(
            sessions or acceptance_sessions(),
            self.app,
            self.clock,
            store_factory(store),
            timer_clock=self.timers,
        )
        self.peer = Peer(self.acceptor, clock=self.clock)

    def new_peer(self) -> Peer:
        return Peer(self.acceptor, clock=self.clock)

    def wait(self, seconds: float) -> list[FixMessage]:
        """Let ``seconds`` of timer time pass in 100 ms ticks; everything the acceptor sent."""
        out: list[FixMessage] = []
        for _ in range(round(seconds * 10)):
            self.timers.t += NS_PER_SECOND // 10
            out += self.peer.tick()
        return out
