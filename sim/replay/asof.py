"""As-of state: the system's components folded over the events valid at T (and known at R).

Bitemporal rule (docs/replay.md): the state at valid time T as known at recorded time R is the
fold, in seq order, of every event with ``valid_time <= T`` and ``recorded_time <= R`` (no R: all
corrections count). Corrections carry the valid time they amend, so they fold into the past.

Fast path. A one-time pass over the log (``ensure_index``, cached beside the log, never in it:
see ``sim.replay.cache``) stores every component's state each ``every`` entries, with the running
maxima of valid and recorded time at that seq, and lists the *late* entries (valid or recorded
time below an earlier entry's: the corrections). A snapshot at seq S is usable for (T, R) iff
every entry up to S passes the filter, i.e. both running maxima are within (T, R); the answer is
then that snapshot plus the entries after S in seq order up to the first one that fails the
filter, plus the late entries after it that pass. After the first failing entry only late entries
can pass (its time already exceeds the bound and later on-time entries are at least as late), so
this is exactly the full filtered fold. Snapshots never need to be thrown away for corrections.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from sim.replay import blobs
from sim.replay import state as cstate
from sim.replay.cache import cache_for
from sim.replay.config import recorded_config
from sim.replay.errors import ReplayError
from sim.replay.ledger import Ledger
from system.bootstrap import SystemConfig, build_components
from system.clock import iso
from system.eventlog.codec import LoggedEvent, chain_hash
from system.eventlog.store import EventStore, Snapshot
from system.runtime import Component
from system.runtime.manifest import code_version

INDEX = "replay/index"
DEFAULT_EVERY = 5_000
_INDEX_VERSION = 4  # 4: engine snapshots hold orders caught mid-match


class Point(msgspec.Struct, array_like=True, frozen=True):
    """A cached snapshot: its seq, the running maxima of valid and recorded time up to it, and
    the sha256 of each component's blob (in ``TimeIndex.components`` order)."""

    seq: int
    max_valid: int
    max_recorded: int
    hashes: list[bytes]


class TimeIndex(msgspec.Struct, frozen=True):
    version: int
    code_version: str
    components: list[str]
    head_seq: int
    head_hash: bytes
    every: int
    first_valid: int
    last_valid: int
    first_recorded: int
    last_recorded: int
    points: list[Point]
    late: list[tuple[int, int, int]]  # (seq, valid_time, recorded_time)


class Basis(msgspec.Struct, frozen=True):
    """What an answer was computed from: reproduce it with the same log head and times."""

    as_of: int
    known_at: int | None
    seq: int  # the last entry folded
    folded: int  # events folded on top of the snapshot
    snapshot_seq: int  # 0: folded from the start
    late_included: int  # corrections (late entries) that count for this answer
    late_excluded: int  # corrections recorded after known_at that amend times <= as_of
    head_seq: int
    head_hash: str

    def describe(self, tz: str = "UTC") -> str:
        known = "" if self.known_at is None else f", as known at {iso(self.known_at, tz)}"
        # Commands are logged inputs that fold into nothing: the events folded are fewer than
        # the entries read, so say which range they came from rather than a sum that won't add.
        source = "from the start" if self.snapshot_seq == 0 else f"from snapshot seq {self.snapshot_seq}"
        return (
            f"as of {iso(self.as_of, tz)}{known}: folded up to seq {self.seq} ({source}, then "
            f"{self.folded} events of entries {self.snapshot_seq + 1}..{self.seq}), log head seq "
            f"{self.head_seq} {self.head_hash[:16]}"
        )


def components(config: SystemConfig) -> list[Component]:
    """The system's components, built exactly as the composition root does, plus the ledger."""
    return [*build_components(config), Ledger()]


def _names(comps: list[Component]) -> list[str]:
    return [f"{i}:{c.name}" for i, c in enumerate(comps)]


def _fold_into(comps: list[Component]) -> Callable[[LoggedEvent], None]:
    tables = [c.appliers() for c in comps]
    merged: dict[type, list[Callable[..., Any]]] = {}
    for t in tables:
        for k, fns in t.items():
            merged.setdefault(k, []).extend(fns)

    def fold(ev: LoggedEvent) -> None:
        rec = ev.record
        for fn in merged.get(type(rec), ()):
            fn(rec)

    return fold


def _hash_at(store: EventStore, seq: int) -> bytes | None:
    for ev in store.read(seq, seq):
        return ev.hash
    return None


def load_index(cache: EventStore) -> TimeIndex | None:
    """The index a cache holds (None: none, or one that does not check out)."""
    snap = cache.load_snapshot(INDEX)
    if snap is None or chain_hash(b"", snap.state) != snap.state_hash:
        return None
    try:
        return msgspec.msgpack.decode(snap.state, type=TimeIndex)
    except msgspec.DecodeError:
        return None


def _save(store: EventStore, name: str, seq: int, blob: bytes) -> None:
    store.save_snapshot(Snapshot(name, seq, blob, chain_hash(b"", blob)))


def ensure_index(
    store: EventStore,
    config: SystemConfig | None = None,
    *,
    every: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cache: str | Path | None = None,
) -> TimeIndex:
    """The log's replay index, built (one checked pass over the log) or extended if the log grew.

    ``every`` is the snapshot interval in entries; None keeps a cached index's (or the default).
    ``cache`` is the folder of the cache (None: beside the log, see ``sim.replay.cache``); the
    log itself is only read.

    Raises ``ReplayError`` for an empty log and ``LogCorrupted`` if an entry does not chain.
    """
    head = store.head()
    if head.seq == 0:
        raise ReplayError(f"{store.url}: the log is empty")
    cfg = config if config is not None else recorded_config(store)
    comps = components(cfg)
    names = _names(comps)
    cs = _cache(store, cache)
    idx = load_index(cs)
    if (
        idx is not None
        and idx.version == _INDEX_VERSION
        and idx.code_version == code_version()
        and idx.components == names
        and (every is None or idx.every == every)
        and _hash_at(store, idx.head_seq) == idx.head_hash
    ):
        if idx.head_seq == head.seq:
            return idx
        try:
            return _build(store, cs, comps, names, idx.every, progress, resume=idx)
        except blobs.CacheMismatch:
            comps = components(cfg)  # the failed resume may have restored part of them
    # Nothing usable: start an empty cache (blobs of another log or version are never reused).
    cs = _cache(store, cache, fresh=idx is not None)
    return _build(store, cs, comps, names, every or DEFAULT_EVERY, progress, resume=None)


def _cache(store: EventStore, cache: str | Path | None, fresh: bool = False) -> EventStore:
    try:
        return cache_for(store, cache, fresh=fresh)
    except ValueError as e:
        raise ReplayError(str(e)) from None


def _build(
    store: EventStore,
    cs: EventStore,
    comps: list[Component],
    names: list[str],
    every: int,
    progress: Callable[[int, int], None] | None,
    resume: TimeIndex | None,
) -> TimeIndex:
    snapshottable = all(cstate.can_snapshot(c) for c in comps)
    points: list[Point] = []
    late: list[tuple[int, int, int]] = []
    start = 1
    lo_v = lo_r = 1 << 62
    mv = mr = -(1 << 62)
    if resume is not None and resume.points and snapshottable:
        last = resume.points[-1]
        _restore(cs, comps, names, last, list(range(len(comps))))
        points = list(resume.points)
        late = [x for x in resume.late if x[0] <= last.seq]
        start = last.seq + 1
        lo_v, lo_r = resume.first_valid, resume.first_recorded
        mv, mr = last.max_valid, last.max_recorded
    fold = _fold_into(comps)
    pack = blobs.packer()
    total = store.head().seq
    seq = start - 1
    last_hash = b""
    for ev in store.replay(start):
        seq = ev.seq
        v, r = ev.valid_time, ev.recorded_time
        if v < mv or r < mr:
            late.append((seq, v, r))
        if v > mv:
            mv = v
        if r > mr:
            mr = r
        if v < lo_v:
            lo_v = v
        if r < lo_r:
            lo_r = r
        if ev.record.kind != "command":
            fold(ev)
        if snapshottable and seq % every == 0:
            hashes = []
            for name, c in zip(names, comps, strict=True):
                blob = cstate.dump(c)
                assert blob is not None
                hashes.append(blobs.save(cs, f"replay/{name}", seq, blob, pack))
            points.append(Point(seq, mv, mr, hashes))
        if progress is not None and seq % 50_000 == 0:
            progress(seq, total)
        last_hash = ev.hash
    if seq == 0:
        raise ReplayError(f"{store.url}: the log is empty")
    idx = TimeIndex(
        _INDEX_VERSION, code_version(), names, seq, last_hash, every, lo_v, mv, lo_r, mr, points, late
    )
    _save(cs, INDEX, seq, msgspec.msgpack.encode(idx))
    return idx


def _restore(
    cs: EventStore, comps: list[Component], names: list[str], point: Point, keep: list[int]
) -> None:
    for name, c, k in zip(names, comps, keep, strict=True):
        cstate.load(c, blobs.load(cs, f"replay/{name}", point.seq, point.hashes[k]))


@contextmanager
def _no_gc() -> Iterator[None]:
    """Restoring and folding allocate long-lived state without cycles: a collection pass then
    only walks it (hundreds of ms of pause at the end of a big day), so it waits until after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class AsOf:
    """The state at ``basis.as_of``: every component of the system (and the ledger), folded."""

    config: SystemConfig
    components: list[Component]
    basis: Basis
    keys: list[str] | None = None  # "<index in the build>:<name>" per component (None: all, in order)

    def component(self, kind: type[Any]) -> Any:
        for c in self.components:
            if isinstance(c, kind):
                return c
        raise LookupError(f"no {kind.__name__} in this build")

    def named(self, name: str) -> Component | None:
        for c in self.components:
            if c.name == name:
                return c
        return None

    @property
    def ledger(self) -> Ledger:
        return self.component(Ledger)  # type: ignore[no-any-return]

    def digests(self) -> dict[str, str]:
        """Per component, the sha256 of its canonical state (what equality tests compare)."""
        keys = self.keys if self.keys is not None else _names(self.components)
        return {k: cstate.digest(c) for k, c in zip(keys, self.components, strict=True)}


def check_range(idx: TimeIndex, as_of: int, known_at: int | None, tz: str = "UTC") -> None:
    if not idx.first_valid <= as_of <= idx.last_valid:
        raise ReplayError(
            f"time {iso(as_of, tz)} is outside the log (valid times {iso(idx.first_valid, tz)} .. "
            f"{iso(idx.last_valid, tz)})"
        )
    if known_at is not None and known_at < idx.first_recorded:
        raise ReplayError(
            f"--known-at {iso(known_at, tz)} is before the log's first entry was recorded "
            f"({iso(idx.first_recorded, tz)})"
        )


def as_of(
    store: EventStore,
    valid_time: int,
    known_at: int | None = None,
    *,
    config: SystemConfig | None = None,
    index: TimeIndex | None = None,
    use_snapshots: bool = True,
    tz: str = "UTC",
    only: Collection[str] | None = None,
    cache: str | Path | None = None,
) -> AsOf:
    """The state at ``valid_time`` as known at ``known_at`` (None: with every correction).

    ``only`` names the components to rebuild (``"engine"`` for books and open orders, ``"risk"``,
    ``"ledger"``...); the others are left out of the answer, which saves restoring and folding
    them. Each one rebuilt is exactly what the full answer holds: components fold independently.
    ``cache`` is the cache folder ``ensure_index`` was given (None: the default place).
    """
    cfg = config if config is not None else recorded_config(store)
    idx = index if index is not None else ensure_index(store, cfg, cache=cache)
    check_range(idx, valid_time, known_at, tz)
    try:
        return _answer(store, idx, cfg, valid_time, known_at, use_snapshots, only, cache)
    except blobs.CacheMismatch:
        # The cache changed under its index (another process rebuilt it, or it was damaged):
        # rebuild it from the log and answer from the new one.
        fresh = ensure_index(store, cfg, every=idx.every, cache=_reset(store, cache))
        return _answer(store, fresh, cfg, valid_time, known_at, use_snapshots, only, cache)


def _reset(store: EventStore, cache: str | Path | None) -> str | Path | None:
    _cache(store, cache, fresh=True)
    return cache


def _answer(
    store: EventStore,
    idx: TimeIndex,
    cfg: SystemConfig,
    valid_time: int,
    known_at: int | None,
    use_snapshots: bool,
    only: Collection[str] | None,
    cache: str | Path | None,
) -> AsOf:
    comps = components(cfg)
    names = _names(comps)
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in comps})
        if unknown:
            raise ReplayError(f"no component named {unknown[0]!r} in this build ({', '.join(names)})")
        keep = [i for i, c in enumerate(comps) if c.name in only]
        comps, names = [comps[i] for i in keep], [names[i] for i in keep]
    else:
        keep = list(range(len(comps)))
    cs = _cache(store, cache) if use_snapshots and idx.points else store
    with _no_gc():
        return _as_of(store, cs, idx, cfg, comps, names, keep, valid_time, known_at, use_snapshots)


def _as_of(
    store: EventStore,
    cs: EventStore,  # where the snapshots are
    idx: TimeIndex,
    cfg: SystemConfig,
    comps: list[Component],
    names: list[str],
    keep: list[int],  # comps[k] is the build's component keep[k]
    valid_time: int,
    known_at: int | None,
    use_snapshots: bool,
) -> AsOf:
    rmax = known_at if known_at is not None else 1 << 62

    def passes(v: int, r: int) -> bool:
        return v <= valid_time and r <= rmax

    start = 0
    stop = idx.head_seq
    point = None
    if use_snapshots:
        for i, p in enumerate(idx.points):
            if p.max_valid <= valid_time and p.max_recorded <= rmax:
                point = p
                stop = idx.points[i + 1].seq if i + 1 < len(idx.points) else idx.head_seq
            else:
                break
    if point is not None:
        start = point.seq
        _restore(cs, comps, names, point, keep)
    fold = _fold_into(comps)
    folded = 0
    last = start
    first_fail = stop + 1
    for ev in store.replay(start + 1, stop):
        if not passes(ev.valid_time, ev.recorded_time):
            first_fail = ev.seq
            break
        if ev.record.kind != "command":
            fold(ev)
            folded += 1
        last = ev.seq
    included = excluded = 0
    for seq, v, r in idx.late:
        if seq < first_fail:
            included += 1  # folded already: every entry before the first failing one passes
            continue
        if v <= valid_time and r > rmax:
            excluded += 1
            continue
        if not passes(v, r):
            continue
        for ev in store.replay(seq, seq):
            if ev.record.kind != "command":
                fold(ev)
                folded += 1
            last = ev.seq
            included += 1
    basis = Basis(
        valid_time, known_at, last, folded, start, included, excluded, idx.head_seq, idx.head_hash.hex()
    )
    return AsOf(cfg, comps, basis, names)


def live_digests(comps: Iterable[Component]) -> dict[str, str]:
    """Digests of a live system's components plus a ledger folded from ``events`` (for tests)."""
    return {f"{i}:{c.name}": cstate.digest(c) for i, c in enumerate(comps)}


def state_hash(digests: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(digests.items())).encode()).hexdigest()
