"""The acceptance profile (``--fix-profile acceptance``): the application QuickFIX's public
acceptance suite expects on the other end, so that suite can be run against our session layer.

- SenderCompID ISLD, TargetCompID TW44, FIX.4.4, reset on every logon, always open, wall clock;
- a NewOrderSingle (and a SecurityDefinition, as suite case 21 expects) is echoed back, header
  extras first, then the body fields by tag (QuickFIX's field order, which the suite compares);
- a PossResend NewOrderSingle whose ClOrdID was already seen in this logon is ignored (19a);
- any other application message gets BusinessMessageReject 380=3 "Unsupported Message Type".

Run it standalone with ``python -m system.gateways.fix.acceptance --port 5001``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from system.clock import Clock, WallClock
from system.gateways.fix.acceptor import FixAcceptor
from system.gateways.fix.config import SessionsConfig, SessionSettings
from system.gateways.fix.dictionary import Dictionary, load_dictionary
from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import UnsupportedMessageType
from system.gateways.fix.session import FixSession, SessionID, Value
from system.gateways.fix.store import store_factory

ECHOED = frozenset({"D", "d"})
_STAMPED = frozenset({8, 9, 10, 34, 35, 43, 49, 52, 56, 122})  # the session writes these itself


class AcceptanceApplication:
    """Echoes orders back; see the module docstring."""

    def __init__(self, dictionary: Dictionary | None = None) -> None:
        self.dictionary = dictionary if dictionary is not None else load_dictionary()
        self._seen: dict[SessionID, set[bytes]] = {}

    def on_logon(self, session: FixSession) -> None:
        self._seen[session.session_id] = set()

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        mt = msg.msg_type
        if mt not in ECHOED:
            raise UnsupportedMessageType()
        if mt == "D":
            seen = self._seen.setdefault(session.session_id, set())
            clordid = msg.get(11) or b""
            if msg.get(97) == b"Y" and clordid in seen:
                return
            seen.add(clordid)
        session.send(mt, echo_fields(msg, self.dictionary))


def echo_fields(msg: FixMessage, dictionary: Dictionary) -> list[tuple[int, Value]]:
    """Header extras by tag, then top-level body fields by tag, each group kept whole after its
    count field (QuickFIX's field order)."""
    header = dictionary.header
    extras = sorted((t, v) for t, v in msg.fields if t in header and t not in _STAMPED)
    items: list[tuple[int, list[tuple[int, bytes]]]] = []
    fields = [(t, v) for t, v in msg.fields if t not in header and t not in dictionary.trailer]
    i = 0
    while i < len(fields):
        tag, value = fields[i]
        chunk = [(tag, value)]
        i += 1
        group = dictionary.groups.get(tag)
        if group is not None:
            members = group[1]
            while i < len(fields) and fields[i][0] in members:
                chunk.append(fields[i])
                i += 1
        items.append((tag, chunk))
    items.sort(key=lambda item: item[0])
    body: list[tuple[int, Value]] = list(extras)
    for _, chunk in items:
        body.extend(chunk)
    return body


def acceptance_sessions() -> SessionsConfig:
    """ISLD <- TW44 on FIX.4.4, reset on logon (the suite starts every case at 1)."""
    return SessionsConfig(
        (SessionSettings("ISLD", "TW44", reset_on_logon=True, logout_timeout_s=2.0),),
        source="acceptance profile",
    )


def acceptance_acceptor(*, host: str = "127.0.0.1", port: int = 0, store: str = "memory:") -> FixAcceptor:
    """The acceptance profile's acceptor on the wall clock (the suite stamps with real time)."""
    return FixAcceptor(
        acceptance_sessions(),
        AcceptanceApplication(),
        WallClock(),
        store_factory(store),
        host=host,
        port=port,
    )


def build(*, port: int, wall: Clock, host: str = "127.0.0.1", store: str = "memory:") -> FixAcceptor:
    """The profile for ``chronex serve --fix-profile acceptance``: ``wall`` stamps and times (the
    suite's scripts stamp real time, whatever the server's own clock says)."""
    return FixAcceptor(
        acceptance_sessions(), AcceptanceApplication(), wall, store_factory(store),
        host=host, port=port, timer_clock=wall,
    )  # fmt: skip


async def _serve(host: str, port: int) -> None:
    acceptor = acceptance_acceptor(host=host, port=port)
    await acceptor.start()
    print(f"acceptance profile listening on {host}:{acceptor.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await acceptor.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
