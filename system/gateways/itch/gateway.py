"""The feeds of a running server: the ITCH encoder as a subscriber of the sequencer, served over
SoupBinTCP (live), SoupBinTCP (GLIMPSE) and MoldUDP64 with its retransmission server.

The encoder follows the log through the subscription seam, so a feed started on a log that
already holds a morning first catches up (its subscribers can ask for sequence 1) and then
follows live. The feed is in memory: a restart re-encodes the log, which gives the same stream.
An admin ``reset`` (the BDD driver, between scenarios) ends the feed's session and starts a new
one on the new log (see docs/feeds.md, "Resets").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from system.eventlog.codec import LoggedEvent
from system.gateways.itch.encoder import ItchEncoder
from system.gateways.itch.mold import Faults, MoldPublisher
from system.gateways.itch.soup import SoupServer


class _Follower:
    """The encoder as a ``Subscriber`` of the sequencer (its position is the last entry encoded)."""

    name = "itch-feed"

    def __init__(self, enc: ItchEncoder) -> None:
        self.enc = enc

    def position(self) -> int:
        return self.enc.position

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        self.enc.handle_batch(batch)


def _instrument_ids(host: Any) -> list[str]:
    """The instruments of a server host's configuration (the reference data of the new day)."""
    config = getattr(getattr(host, "world", None), "config", None)
    return [i.id for i in getattr(config, "instruments", ())]


class FeedGateway:
    def __init__(
        self,
        server: Any,
        tz: str,
        instruments: Iterable[str],
        *,
        itch_port: int | None = None,
        glimpse_port: int | None = None,
        mold_port: int | None = None,
        mold_targets: Iterable[tuple[str, int]] = (),
        faults: Faults | None = None,
        session: str = "1",
    ) -> None:
        self.server = server
        self.tz = tz
        self.base_session = session
        self.resets = 0
        self.encoder = ItchEncoder(tz, instruments)
        self.itch = SoupServer(self.encoder, session=session) if itch_port is not None else None
        self.glimpse = (
            SoupServer(self.encoder, session=session, glimpse=True) if glimpse_port is not None else None
        )
        self.mold = (
            MoldPublisher(self.encoder, list(mold_targets), session=session, faults=faults)
            if mold_port is not None
            else None
        )
        self._ports = (itch_port, glimpse_port, mold_port)
        self.ports: dict[str, int] = {}

    @property
    def session(self) -> str:
        """The current session name: the one given, then a new one after each reset (a number
        given is counted up: 1, 2, 3...; another name gets the count appended)."""
        base, n = self.base_session.strip(), self.resets
        if not n:
            return base
        return str(int(base) + n) if base.isdigit() else f"{base}{n}"[-10:]

    async def start(self, host: str = "127.0.0.1") -> dict[str, int]:
        """Catch up with the log, start listening; returns the ports by name."""
        self.server.sequencer.subscribe(_Follower(self.encoder), catch_up=True)
        self.server.on_reset.append(self._reset)
        itch, glimpse, mold = self._ports
        if self.itch is not None and itch is not None:
            self.ports["itch_port"] = await self.itch.start(host, itch)
        if self.glimpse is not None and glimpse is not None:
            self.ports["glimpse_port"] = await self.glimpse.start(host, glimpse)
        if self.mold is not None and mold is not None:
            self.ports["mold_port"] = await self.mold.start(host, mold)
        return self.ports

    def _reset(self) -> None:
        """The server replaced its host (admin ``reset``): the old feed ends (End of Messages,
        End of Session to its subscribers) and a new session follows the new log from its start,
        with sequence numbers, order references and stock locates of its own."""
        self.encoder.finish()
        self.resets += 1
        enc = self.encoder = ItchEncoder(self.tz, _instrument_ids(self.server.host))
        for srv in (self.itch, self.glimpse, self.mold):
            if srv is not None:
                srv.switch(enc, self.session)
        self.server.sequencer.subscribe(_Follower(enc), catch_up=True)

    async def stop(self, linger: float = 10.0, mold_linger: float = 1.0) -> None:
        """End of Messages, then End of Session to every subscriber. SoupBinTCP subscribers get up
        to ``linger`` seconds to read the rest of the stream and close (a fixed pause cut off a
        subscriber that was behind, or a loaded machine). MoldUDP64 has no acknowledgement, so for
        ``mold_linger`` seconds (at least) End of Session is repeated every 50 ms and
        retransmission requests are answered: a subscriber that lost the last packets, or the one
        End of Session a fixed pause let out, can still complete its stream (with 2% of packets
        lost, a whole served day's subscriber sometimes missed it)."""
        self.encoder.finish()
        for srv in (self.itch, self.mold):
            if srv is not None:
                srv.notify()
        waits: list[Awaitable[object]] = []
        if self.mold is not None:
            self.mold.heartbeat = min(self.mold.heartbeat, 0.05)  # the ended feed's End of Session
            self.mold.notify()
            waits.append(asyncio.sleep(mold_linger))
        if self.itch is not None:
            waits.append(self.itch.drained(linger))
        await asyncio.gather(*waits)
        for s in (self.itch, self.glimpse):
            if s is not None:
                await s.stop()
        if self.mold is not None:
            await self.mold.stop()
