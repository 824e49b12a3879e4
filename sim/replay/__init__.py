"""The time-travel replayer: as-of state (bitemporal), deterministic re-runs, what-if, rebasing,
diffs and exports over a Chronex event log. See docs/replay.md.

    from sim.replay import as_of, ensure_index
    state = as_of(store, t_ns, known_at=r_ns)     # state.basis says what it was computed from
"""

from sim.replay.asof import AsOf, Basis, TimeIndex, as_of, components, ensure_index
from sim.replay.blobs import clear_cache
from sim.replay.config import override, recorded_config, recorded_manifest
from sim.replay.errors import ReplayError
from sim.replay.ledger import Ledger
from sim.replay.rebase import RebaseResult, rebase, shift
from sim.replay.rerun import Divergence, RerunResult, compare, first_divergence, rerun

__all__ = [
    "AsOf",
    "Basis",
    "Divergence",
    "Ledger",
    "RebaseResult",
    "ReplayError",
    "RerunResult",
    "TimeIndex",
    "as_of",
    "clear_cache",
    "compare",
    "components",
    "ensure_index",
    "first_divergence",
    "override",
    "rebase",
    "recorded_config",
    "recorded_manifest",
    "rerun",
    "shift",
]
