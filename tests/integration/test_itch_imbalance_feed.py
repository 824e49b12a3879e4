"""The encoder's shortcuts for Imbalance messages change nothing: a simulated pre-open and opening
auction encoded with them gives the bytes of an encoder that asks the engine's ``uncross_price``
after every entry of a call phase."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sim.markets import simulated_day
from system.clock import NS_PER_SECOND
from system.engine.auction import uncross_price
from system.engine.book import Book
from system.gateways.itch import ItchEncoder
from system.gateways.itch import encoder as E


class _Reference(ItchEncoder):
    """The encoder as first written: the whole book through ``uncross_price`` every time."""

    def _quiet(self, book: Book, buy: bool, p1: int, p2: int) -> bool:
        return False


def _engine_indicative(bp: list[int], bcum: list[int], ap: list[int], acum: list[int], *rest: Any) -> Any:
    bids = [(p, bcum[i + 1] - bcum[i]) for i, p in enumerate(bp)]
    asks = [(p, acum[i + 1] - acum[i]) for i, p in enumerate(ap)]
    return uncross_price(bids, asks, *rest)


@pytest.mark.parametrize("seed", [23, 5])
def test_imbalance_shortcuts_keep_the_bytes(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same messages, byte for byte, with and without the shortcuts, and the pre-open is full of
    Imbalance messages (so the comparison means something)."""
    d = simulated_day("XTKS", date(2027, 1, 4), instruments=["7203", "6758"], seed=seed)
    d.end_ns = d.start_ns + 62 * 60 * NS_PER_SECOND  # pre-open and the opening auction
    try:
        d.run()
        d.world.runtime.flush()
        events = list(d.world.store.read(1))
        fast = ItchEncoder(d.session.tz, d.profile.ids)
        fast.handle_batch(events)
        fast.finish()
        with monkeypatch.context() as mp:
            mp.setattr(E, "indicative_sorted", _engine_indicative)
            ref = _Reference(d.session.tz, d.profile.ids)
            ref.handle_batch(events)
            ref.finish()
    finally:
        d.close()
    assert sum(msg[:1] == b"I" for msg in ref.messages) > 100
    assert fast.messages == ref.messages
