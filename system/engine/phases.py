"""Trading phases, and the command and event that move a venue (or one instrument) between them.

The virtual clock's session scheduler (``sim.clock``) executes ``ChangePhase`` at the calendar's
times; the matching engine answers with ``PhaseChanged`` and whatever the change causes (an
auction uncross, DAY expiries). Because both are in the log, replay reproduces every phase.
"""

from __future__ import annotations

from enum import StrEnum

from system.eventlog.records import Command, Event


class Phase(StrEnum):
    CLOSED = "CLOSED"
    PRE_OPEN = "PRE_OPEN"  # orders accepted, no matching
    OPENING_AUCTION = "OPENING_AUCTION"  # the call: uncross happens on leaving this phase
    CONTINUOUS = "CONTINUOUS"
    BREAK = "BREAK"  # lunch break: orders accepted as in pre-open, no matching
    CLOSING_AUCTION = "CLOSING_AUCTION"
    HALTED = "HALTED"


class ChangePhase(Command, frozen=True):
    """Move ``venue`` (every instrument on it, or only ``instrument``) to ``phase``."""

    venue: str
    phase: Phase
    instrument: str | None = None
    reason: str = ""

    def stream(self) -> str:
        return f"input/venue/{self.venue}"


class PhaseChanged(Event, frozen=True):
    venue: str
    phase: Phase
    previous: Phase
    instrument: str | None = None
    reason: str = ""

    def stream(self) -> str:
        return f"venue/{self.venue}" if self.instrument is None else f"book/{self.instrument}"
