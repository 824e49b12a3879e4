"""Turning a batch of new records into chained entries: shared by every backend, so all of them
write byte-identical logs for the same inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from system.eventlog.codec import LoggedEvent, chain_hash, encode_body
from system.eventlog.store import ANY, NewEvent, RawEntry, WrongExpectedVersion


def check_expected(expected: Mapping[str, int] | None, version_of: Callable[[str], int]) -> None:
    if not expected:
        return
    for stream, want in expected.items():
        if want == ANY:
            continue
        have = version_of(stream)
        if have != want:
            raise WrongExpectedVersion(stream, want, have)


def prepare(
    batch: Sequence[NewEvent],
    head_seq: int,
    head_hash: bytes,
    version_of: Callable[[str], int],
    recorded_time: int,
) -> tuple[list[RawEntry], list[LoggedEvent], dict[str, int]]:
    """Number, encode and chain ``batch`` after the given head.

    Returns the raw entries to store, the entries as readers see them, and each touched stream's
    new version.
    """
    raws: list[RawEntry] = []
    logged: list[LoggedEvent] = []
    versions: dict[str, int] = {}
    seq = head_seq
    prev = head_hash
    for ne in batch:
        seq += 1
        rec = ne.record
        stream = ne.stream if ne.stream is not None else rec.stream()
        v = versions.get(stream)
        v = (version_of(stream) if v is None else v) + 1
        versions[stream] = v
        body = encode_body(
            seq, stream, v, rec, ne.valid_time, recorded_time, ne.correlation_id, ne.causation_id
        )
        h = chain_hash(prev, body)
        raws.append(RawEntry(seq, stream, v, rec.name, ne.valid_time, recorded_time, body, h))
        logged.append(
            LoggedEvent(
                seq,
                stream,
                v,
                rec.name,
                rec.version,
                ne.valid_time,
                recorded_time,
                ne.correlation_id,
                ne.causation_id,
                rec,
                prev,
                h,
            )
        )
        prev = h
    return raws, logged, versions
