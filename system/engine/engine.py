"""The matching engine component (implementation in progress; the API below is stable)."""

from __future__ import annotations

from typing import Any

from system.engine.phases import Phase
from system.engine.refdata import Instrument
from system.engine.views import BookView, OrderView
from system.runtime.component import Component


class MatchingEngine(Component):
    """Price-time books for every listed instrument; see docs/matching.md."""

    name = "engine"

    def __init__(
        self, instruments: tuple[Instrument, ...] = (), default_phase: Phase = Phase.CONTINUOUS
    ) -> None:
        self.default_phase = default_phase

    def book(self, instrument: str) -> BookView:
        raise NotImplementedError

    def order(self, order_id: int) -> OrderView | None:
        raise NotImplementedError

    def phase(self, instrument: str) -> Phase:
        raise NotImplementedError

    def next_expiry(self) -> int | None:
        raise NotImplementedError

    def snapshot_state(self) -> Any:
        raise NotImplementedError

    def restore_state(self, state: Any) -> None:
        raise NotImplementedError
