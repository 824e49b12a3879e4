"""The server snapshot holds the router's order ownership; one written by an older build (which
also carried each session command id with a digest) still restores."""

from __future__ import annotations

from array import array

from system.engine.commands import CancelOrder
from system.eventlog import open_log
from system.eventlog.snapblob import snapshot_of
from system.eventlog.store import EventStore, NewEvent
from system.server.routing import Router
from system.server.routingsnapshot import SERVER_SNAPSHOT, restore_routing, routing_state


class _Clock:
    def now_ns(self) -> int:
        return 1


def _store_with_one_entry() -> EventStore:
    store = open_log("memory://", _Clock())
    store.append([NewEvent(CancelOrder("A", "XTKS:7203", 1), 1)])
    return store


def test_a_snapshot_from_before_2026_12_08_restores_its_ownership() -> None:
    store = _store_with_one_entry()
    old = {
        "at": 1,
        "sessions": ["S1", "S2"],
        "orders": array("q", [7, 9]).tobytes(),
        "owners": array("q", [1, 0]).tobytes(),
        "ids": ["S1/o1"],  # what older builds kept beside the map: ignored now
        "digests": b"\x00" * 16,
    }
    store.save_snapshot(snapshot_of(SERVER_SNAPSHOT, 1, old))
    router = Router()
    assert restore_routing(store, router) == 1
    assert router.owner == {7: "S2", 9: "S1"}


def test_the_ownership_map_round_trips() -> None:
    store = _store_with_one_entry()
    router = Router()
    router.owner = {3: "S1", 4: "S2", 5: "S1"}
    router.learn_position(1)
    store.save_snapshot(snapshot_of(SERVER_SNAPSHOT, 1, routing_state(router)))
    again = Router()
    assert restore_routing(store, again) == 1
    assert again.owner == router.owner
    assert set(routing_state(router)) == {"at", "sessions", "orders", "owners"}
