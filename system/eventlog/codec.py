"""The canonical encoding of a log entry and its hash chain.

Canonical body (stable across runs, processes and machines; see docs/eventlog.md):

    msgpack array of 10 items
      [seq, stream, stream_version, type, schema_version,
       valid_time, recorded_time, correlation_id, causation_id, payload]

``payload`` is a msgpack map of the record's fields in declaration order; maps nested inside a
payload are written with sorted keys. Integers take msgpack's shortest form, text is UTF-8.

    hash = sha256(prev_hash || body)        prev_hash of seq 1 is 32 zero bytes
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from system.eventlog.records import _REGISTRY as _types
from system.eventlog.records import Record, lookup

GENESIS_HASH = bytes(32)

_encoder = msgspec.msgpack.Encoder(order="deterministic")
body_encoder = _encoder
"""The one encoder every canonical body goes through (sorted map keys, shortest integers)."""


class _Body(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The canonical body as it is decoded: the payload stays raw until its type is known."""

    seq: int
    stream: str
    stream_version: int
    type: str
    schema_version: int
    valid_time: int
    recorded_time: int
    correlation_id: str
    causation_id: str
    payload: msgspec.Raw


Envelope = _Body
_body_decoder = msgspec.msgpack.Decoder(_Body)
body_decoder = _body_decoder


class LoggedEvent(msgspec.Struct, frozen=True, gc=False):
    """One entry of the log as readers see it: the envelope, the decoded record and its hashes.

    Untracked by the cycle collector (``gc=False``): it holds a frozen record, bytes and scalars,
    so it cannot be part of a cycle, and a million of them no longer slow every full collection.
    """

    seq: int
    stream: str
    stream_version: int
    type: str
    schema_version: int
    valid_time: int
    recorded_time: int
    correlation_id: str
    causation_id: str
    record: Record
    prev_hash: bytes
    hash: bytes

    @property
    def kind(self) -> str:
        return self.record.kind


def encode_body(
    seq: int,
    stream: str,
    stream_version: int,
    record: Record,
    valid_time: int,
    recorded_time: int,
    correlation_id: str,
    causation_id: str,
) -> bytes:
    # One encoder call: a list is the cheapest container msgspec writes as an array.
    return _encoder.encode(
        [
            seq,
            stream,
            stream_version,
            record.name,
            record.version,
            valid_time,
            recorded_time,
            correlation_id,
            causation_id,
            record,
        ]
    )


def chain_hash(prev_hash: bytes, body: bytes) -> bytes:
    """sha256(prev_hash || body): the link from one entry to the next."""
    return hashlib.sha256(prev_hash + body).digest()


def decode_record(type_name: str, payload: msgspec.Raw, schema_version: int) -> Record:
    """The record in a body's payload, upcast to the current schema if it is older."""
    rt = _types.get(type_name)
    if rt is None:
        rt = lookup(type_name)  # raises UnknownRecordType naming it
    return rt.decode(payload, schema_version)


def decode_entry(body: bytes, prev_hash: bytes, hash_: bytes) -> LoggedEvent:
    """Decode a stored body. Raises ``msgspec.DecodeError`` or ``UnknownRecordType`` if it is bad."""
    b = _body_decoder.decode(body)
    record = decode_record(b.type, b.payload, b.schema_version)
    return LoggedEvent(
        b.seq,
        b.stream,
        b.stream_version,
        b.type,
        b.schema_version,
        b.valid_time,
        b.recorded_time,
        b.correlation_id,
        b.causation_id,
        record,
        prev_hash,
        hash_,
    )


def encode_record(record: Record) -> bytes:
    """The canonical payload bytes of a record alone (used for state hashes and command ids)."""
    return _encoder.encode(record)


def canonical(obj: Any) -> bytes:
    """Deterministic msgpack of any msgspec-encodable value (snapshots, state hashes)."""
    return _encoder.encode(obj)
