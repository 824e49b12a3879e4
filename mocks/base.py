"""The contract every mock keeps: a name, a TOML profile, the shared clock, ports, start and stop.

A mock is a small server imitating a system around the trading venue (an exchange to hedge on, a
market maker, a crypto exchange, a wallet, KYC). ``chronex mock`` builds one from its ``MockSpec``
in ``mocks.catalogue`` (the only list of mocks: nothing joins by being imported), hands it a
``MockContext`` and awaits ``start``; SIGTERM awaits ``stop``. Every mock answers on the clock it
is given, so it keeps the same virtual time as ``chronex serve``, and records what crossed its
ports through ``ctx.record`` so ``chronex mock NAME --replay LOG`` can play the traffic back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from system.clock import Clock

if TYPE_CHECKING:
    from mocks.faults import FaultSchedule

__all__ = ["Mock", "MockContext", "MockError", "MockSpec", "Recorder"]


class MockError(ValueError):
    """A mock cannot be built or started: a bad profile value, a port in use. The message names
    the mock, the field and the value (the CLI prints it and exits 2)."""


class Recorder(Protocol):
    """Where a mock's traffic goes: one call per message crossing one of its links."""

    def __call__(self, mock: str, link: str, direction: str, payload: bytes) -> None:
        """``direction`` is ``in`` (to the mock) or ``out`` (from it); ``link`` names the
        connection (a FIX session, a REST client, a feed)."""
        ...


def _no_record(mock: str, link: str, direction: str, payload: bytes) -> None:
    return None


@dataclass(frozen=True)
class MockContext:
    """What a mock is built with. ``profile`` is its TOML profile, parsed and not yet validated
    (the mock validates it and raises ``MockError`` naming the field). ``port`` 0 asks for a free
    port; ``seed`` seeds every random choice the mock makes."""

    profile: dict[str, Any]
    clock: Clock
    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    record: Recorder = field(default=_no_record)
    # The faults every mock of a run shares, judged on ``clock`` (mocks/faults.py); None: none.
    faults: FaultSchedule | None = None
    # Where the mock's peer is, by name ("serve": the FIX host:port of ``chronex serve``), for
    # mocks that dial out (market makers, the OEMS); a profile may name them too.
    targets: dict[str, str] = field(default_factory=dict)


class Mock(Protocol):
    """A running mock. ``start`` binds and returns once it accepts; ``stop`` closes every
    connection and returns once nothing of it runs (both on the running asyncio loop)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def endpoints(self) -> dict[str, str]:
        """What a client dials, by protocol: ``{"fix": "127.0.0.1:9878", "itch": ...}``."""
        ...


@dataclass(frozen=True)
class MockSpec:
    """One entry of the catalogue: ``chronex mock list`` prints ``name`` and ``summary``;
    ``default_profile`` is the TOML used when no ``--profile`` is given."""

    name: str
    summary: str
    default_profile: Path
    build: Callable[[MockContext], Mock]
    # How ``--replay`` plays the recorded traffic: "accept" (listen, answer a client as recorded),
    # "dial" (connect to the target and send what the mock sent) or "http" (serve the recorded
    # answers to the same HTTP requests: mocks/httpreplay.py).
    replay_role: str = "accept"
