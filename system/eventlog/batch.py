"""Turning a batch of new records into chained entries: shared by every backend, so all of them
write byte-identical logs for the same inputs.

This is the hot path of every append. It runs in C (``_chain.c``, built with the package) when
that module is there; ``_chain_py`` is the same loop in Python, the reference the C one is tested
against byte for byte, and what runs where the extension could not be built.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any

from system.eventlog.codec import LoggedEvent, body_encoder
from system.eventlog.store import ANY, NewEvent, RawEntry, WrongExpectedVersion

try:
    from system.eventlog import _chain as _accel
except ImportError:  # built without a compiler or OpenSSL's headers: the Python loop below
    _accel = None  # type: ignore[assignment]

# (stream name -> id, type name -> id, assign a stream id, assign a type id)
IdMaps = tuple[dict[str, int], dict[str, int], Callable[[str], int], Callable[[str], int]]


def check_expected(expected: Mapping[str, int] | None, version_of: Callable[[str], int]) -> None:
    """Raise ``WrongExpectedVersion`` for the first stream (in the mapping's order) that mismatches."""
    if not expected:
        return
    for stream, want in expected.items():
        if want == ANY:
            continue
        have = version_of(stream)
        if have != want:
            raise WrongExpectedVersion(stream, want, have)


def chain(
    batch: Sequence[NewEvent],
    head_seq: int,
    head_hash: bytes,
    version_of: Callable[[str], int],
    recorded_time: int,
    row: Callable[[int, str, int, str, int, int, bytes, bytes], object] | None = None,
    ids: IdMaps | None = None,
) -> tuple[list[LoggedEvent], list[Any], dict[str, int]]:
    """Number, encode and chain ``batch`` after the given head.

    Returns the entries as readers see them, one item per entry (its canonical body, or what
    ``row(seq, stream, version, type, valid_time, recorded_time, body, hash)`` makes of it, so a
    backend builds its storage rows in this one pass), and each touched stream's new version.
    ``ids`` (stream ids, type ids, and the functions that assign a missing one) makes the items
    one flat list of SQL parameters, eight an entry, ``seq, stream id, version, type id,
    valid_time, recorded_time, body, hash`` (SQLite's table layout, bound by multi-row INSERTs),
    without a Python call per entry.
    """
    if row is None and _accel is not None:
        logged, items, versions, _, _ = _accel.chain(
            batch, head_seq, head_hash, version_of, recorded_time, body_encoder, LoggedEvent, ids, None
        )
        return logged, items, versions
    return _chain_py(batch, head_seq, head_hash, version_of, recorded_time, row, ids)


def chain_joined(
    batch: Sequence[NewEvent],
    head_seq: int,
    head_hash: bytes,
    version_of: Callable[[str], int],
    recorded_time: int,
    base: int,
) -> tuple[list[LoggedEvent], bytes, bytes, dict[str, int], bytes]:
    """``chain`` giving what the memory store keeps: the entries, the bodies joined in one block
    and where each ends (``base`` + its end in the block, as an ``array('q')``'s bytes), the
    streams' versions, and the hashes joined (32 bytes an entry)."""
    if _accel is not None:
        logged, ends, versions, hashes, block = _accel.chain(
            batch, head_seq, head_hash, version_of, recorded_time, body_encoder, LoggedEvent, None, base
        )
        return logged, block, ends, versions, hashes
    logged, bodies, versions = _chain_py(batch, head_seq, head_hash, version_of, recorded_time)
    ends = array("q", accumulate(map(len, bodies), initial=base))[1:]
    return logged, b"".join(bodies), ends.tobytes(), versions, b"".join([e.hash for e in logged])


def _chain_py(
    batch: Sequence[NewEvent],
    head_seq: int,
    head_hash: bytes,
    version_of: Callable[[str], int],
    recorded_time: int,
    row: Callable[[int, str, int, str, int, int, bytes, bytes], object] | None = None,
    ids: IdMaps | None = None,
) -> tuple[list[LoggedEvent], list[Any], dict[str, int]]:
    """``chain`` in Python: the reference of ``_chain.c`` (binds its callables to locals and
    builds only the objects the caller needs, one ``LoggedEvent`` and one item per entry)."""
    logged: list[LoggedEvent] = []
    bodies: list[Any] = []
    versions: dict[str, int] = {}
    add_logged = logged.append
    add_body = bodies.append
    add_params = bodies.extend
    encode = body_encoder.encode
    sha256 = hashlib.sha256
    get_version = versions.get
    seq = head_seq
    prev = head_hash
    if ids is not None:
        sids, tids, sid_of, tid_of = ids
        get_sid, get_tid = sids.get, tids.get
    for ne in batch:
        seq += 1
        rec = ne.record
        stream = ne.stream
        if stream is None:
            stream = rec.stream()
        v = get_version(stream)
        v = (version_of(stream) if v is None else v) + 1
        versions[stream] = v
        name = rec.name
        schema = rec.version
        vt = ne.valid_time
        corr = ne.correlation_id
        caus = ne.causation_id
        # The canonical body: see codec.py and docs/eventlog.md. One encoder call over a list.
        body = encode([seq, stream, v, name, schema, vt, recorded_time, corr, caus, rec])
        h = sha256(prev + body).digest()
        if ids is not None:
            sid = get_sid(stream)
            tid = get_tid(name)
            # Blobs as bytearray: the sqlite3 module (3.11) binds an exact bytearray directly, but
            # runs bytes through its adapter protocol (an adapters-table lookup and two failed
            # attribute lookups each): ~3,000 instructions per blob. Same stored bytes.
            add_params(
                (
                    seq, sid_of(stream) if sid is None else sid, v, tid_of(name) if tid is None else tid,
                    vt, recorded_time, bytearray(body), bytearray(h),
                )
            )  # fmt: skip
        elif row is None:
            add_body(body)
        else:
            add_body(row(seq, stream, v, name, vt, recorded_time, body, h))
        add_logged(LoggedEvent(seq, stream, v, name, schema, vt, recorded_time, corr, caus, rec, prev, h))
        prev = h
    return logged, bodies, versions


def raw_of(ev: LoggedEvent, body: bytes) -> RawEntry:
    return RawEntry(
        ev.seq, ev.stream, ev.stream_version, ev.type, ev.valid_time, ev.recorded_time, body, ev.hash
    )


def prepare(
    batch: Sequence[NewEvent],
    head_seq: int,
    head_hash: bytes,
    version_of: Callable[[str], int],
    recorded_time: int,
) -> tuple[list[RawEntry], list[LoggedEvent], dict[str, int]]:
    """``chain`` with the raw entries built too (kept for callers of the first release)."""
    logged, bodies, versions = chain(batch, head_seq, head_hash, version_of, recorded_time)
    return [raw_of(e, b) for e, b in zip(logged, bodies, strict=True)], logged, versions
