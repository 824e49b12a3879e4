"""The replay cache's snapshot blobs: zstd-compressed in the cache's snapshot table (see
``sim.replay.cache``), addressed by the sha256 of what is stored, and kept decompressed in a
bounded per-process cache.

Compression (level 1) makes a big day's snapshots about five times smaller, and reading 3 MB and
decompressing it is faster than reading 17 MB from SQLite. The index lists each blob's hash, so a
blob is checked once per process, and content addressing means a rebuilt cache can never serve a
stale one.
"""

from __future__ import annotations

from collections import OrderedDict

import zstandard

from system.eventlog.codec import chain_hash
from system.eventlog.store import EventStore, Snapshot

_BUDGET = 256 << 20  # bytes of decompressed blobs kept per process
_cache: OrderedDict[bytes, bytes] = OrderedDict()
_held = 0


class CacheMismatch(Exception):
    """A blob the index lists is missing from the cache or differs from its hash: the cache is
    not the one its index describes, so it is rebuilt (never trusted, never an error)."""


def save(store: EventStore, name: str, seq: int, state: bytes, packer: zstandard.ZstdCompressor) -> bytes:
    """Store ``state`` compressed under ``name`` at ``seq``; returns the stored blob's sha256."""
    blob = packer.compress(state)
    h = chain_hash(b"", blob)
    store.save_snapshot(Snapshot(name, seq, blob, h))
    return h


def packer() -> zstandard.ZstdCompressor:
    """A compressor for one build (not shared between threads)."""
    return zstandard.ZstdCompressor(level=1)


def load(store: EventStore, name: str, seq: int, expect: bytes) -> bytes:
    """The state stored under ``name`` at ``seq``, checked against ``expect`` (its sha256).

    Raises ``CacheMismatch`` if it is missing or does not match."""
    global _held
    state = _cache.get(expect)
    if state is not None:
        _cache.move_to_end(expect)
        return state
    snap = store.load_snapshot(name, seq)
    if snap is None or snap.seq != seq:
        raise CacheMismatch(f"the replay cache lacks {name} at seq {seq}")
    if chain_hash(b"", snap.state) != expect:
        raise CacheMismatch(f"cached snapshot {name!r} at seq {seq} does not match its hash")
    try:
        state = zstandard.ZstdDecompressor().decompress(snap.state)
    except zstandard.ZstdError as e:  # unreachable unless sha256 collides; never trust it
        raise CacheMismatch(f"cached snapshot {name!r} at seq {seq}: {e}") from None
    _cache[expect] = state
    _held += len(state)
    while _held > _BUDGET and len(_cache) > 1:
        _held -= len(_cache.popitem(last=False)[1])
    return state


def clear_cache() -> None:
    """Forget the blobs this process has loaded (the next query reads and checks them again)."""
    global _held
    _cache.clear()
    _held = 0
