"""The server's own start-up state as a snapshot: who owns each order (routing).

Which session command ids the log holds, and what each asked, is not here: the runtime's command
table (its ``runtime`` snapshot) holds the ids, and a retry is compared with the logged command
itself. Snapshots written before 2026-12-08 also carry ``ids`` and ``digests`` (a digest of each
command); restoring one ignores them.

The map is a fold of the log. It is saved as the ``server`` snapshot whenever the runtime
snapshots its components (the runtime's ``snapshot_hooks``), so a restart restores it and folds
only the log's tail, as the components do. A log without a ``server`` snapshot folds from the start.
"""

from __future__ import annotations

from array import array
from typing import Any

from system.eventlog.snapblob import snapshot_of, state_of
from system.eventlog.store import EventStore
from system.server.routing import Router

SERVER_SNAPSHOT = "server"


def routing_state(router: Router) -> dict[str, Any]:
    """Plain, canonical data; ``at`` is the last entry the map has folded. Columns (packed
    integers, one list of strings) rather than pairs: a day's map holds an entry per order, and a
    list of pairs decodes several times slower."""
    owner = sorted(router.owner.items())
    sessions = sorted(set(router.owner.values()))
    index = {s: i for i, s in enumerate(sessions)}
    return {
        "at": router.position(),
        "sessions": sessions,
        "orders": array("q", [oid for oid, _ in owner]).tobytes(),
        "owners": array("q", [index[s] for _, s in owner]).tobytes(),
    }


def save_routing(store: EventStore, router: Router, at: int) -> None:
    """The runtime snapshotted at ``at``: store the routing state beside it."""
    store.save_snapshot(snapshot_of(SERVER_SNAPSHOT, at, routing_state(router)))


def restore_routing(store: EventStore, router: Router) -> int:
    """Restore the latest ``server`` snapshot at or before the head into ``router``;
    returns the seq it now stands at (0: none, fold the whole log)."""
    snap = store.load_snapshot(SERVER_SNAPSHOT, store.head().seq)
    if snap is None:
        return 0
    st = state_of(snap)
    # The maps may reflect an earlier entry than the snapshot's seq (a snapshot taken between a
    # timer's append and its hand-off to the router): fold from what they hold. Re-learning an
    # entry is harmless (both are plain assignments), skipping one is not.
    at = min(int(st["at"]), snap.seq)
    sessions = [str(x) for x in st["sessions"]]
    orders, owners = array("q"), array("q")
    orders.frombytes(st["orders"])
    owners.frombytes(st["owners"])
    router.owner = dict(zip(orders, [sessions[i] for i in owners], strict=True))
    router.learn_position(at)
    return at
