"""The server's own start-up state as a snapshot: who owns each order (routing) and which session
command ids the log holds, with a digest of what each asked (retries and refused reuses).

Both are folds of the log. They are saved as the ``server`` snapshot whenever the runtime
snapshots its components (the runtime's ``snapshot_hooks``), so a restart restores them and folds
only the log's tail, as the components do. A log without a ``server`` snapshot folds from the start.
"""

from __future__ import annotations

from array import array
from typing import Any

from system.eventlog.snapblob import snapshot_of, state_of
from system.eventlog.store import EventStore
from system.server.routing import Router
from system.server.sequencer import Sequencer

SERVER_SNAPSHOT = "server"
DIGEST_BYTES = 16  # the sequencer's digest of a command (sequencer._digest)


def routing_state(router: Router, seq: Sequencer) -> dict[str, Any]:
    """Plain, canonical data; ``at`` is the last entry both maps have folded. Columns (packed
    integers, one list of strings) rather than pairs: a day's maps hold an entry per order and per
    session command, and a list of pairs decodes several times slower."""
    owner = sorted(router.owner.items())
    sessions = sorted(set(router.owner.values()))
    index = {s: i for i, s in enumerate(sessions)}
    ids = sorted(seq._digests.items())
    return {
        "at": router.position(),
        "sessions": sessions,
        "orders": array("q", [oid for oid, _ in owner]).tobytes(),
        "owners": array("q", [index[s] for _, s in owner]).tobytes(),
        "ids": [cid for cid, _ in ids],
        "digests": b"".join(d for _, d in ids),
    }


def save_routing(store: EventStore, router: Router, seq: Sequencer, at: int) -> None:
    """The runtime snapshotted at ``at``: store the routing state beside it."""
    store.save_snapshot(snapshot_of(SERVER_SNAPSHOT, at, routing_state(router, seq)))


def restore_routing(store: EventStore, router: Router, seq: Sequencer) -> int:
    """Restore the latest ``server`` snapshot at or before the head into ``router`` and ``seq``;
    returns the seq they now stand at (0: none, fold the whole log)."""
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
    digests = st["digests"]
    n = DIGEST_BYTES
    seq._digests = dict(zip(st["ids"], [digests[i : i + n] for i in range(0, len(digests), n)], strict=True))
    return at
