"""Walking the hash chain: proves a log untampered, or names the first entry that is not."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from system.eventlog.codec import GENESIS_HASH, chain_hash, decode_entry
from system.eventlog.records import UnknownRecordType
from system.eventlog.store import EventStore


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    count: int
    head_hash: bytes
    bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.count} events, head {self.head_hash.hex()}"
        return f"bad at seq {self.bad_seq}: {self.problem}"


def verify(store: EventStore) -> Verdict:
    """Check gaplessness, order, each body against its hash and the chain, and the index columns
    against the body. Stops at the first problem."""
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for raw in store.read_raw(1):
        if raw.seq != expected_seq:
            if raw.seq > expected_seq:
                what = f"missing event: seq {expected_seq} absent, next stored is {raw.seq}"
            else:
                what = f"reordering: seq {raw.seq} stored after {expected_seq - 1}"
            return Verdict(False, count, prev, expected_seq, what)
        h = chain_hash(prev, raw.body)
        if h != raw.hash:
            # Tell an edited body from a broken link: does the body match its own stored hash
            # under any predecessor? We cannot know that, so say what was compared.
            return Verdict(
                False, count, prev, raw.seq,
                "altered entry: sha256(prev_hash || body) does not match the stored hash",
            )
        try:
            ev = decode_entry(raw.body, prev, raw.hash)
        except (msgspec.DecodeError, msgspec.ValidationError, UnknownRecordType) as e:
            return Verdict(False, count, prev, raw.seq, f"undecodable body: {e}")
        mismatches = [
            name
            for name, stored, inbody in (
                ("seq", raw.seq, ev.seq),
                ("stream", raw.stream, ev.stream),
                ("stream_version", raw.stream_version, ev.stream_version),
                ("type", raw.type, ev.type),
                ("valid_time", raw.valid_time, ev.valid_time),
                ("recorded_time", raw.recorded_time, ev.recorded_time),
            )
            if stored != inbody
        ]
        if mismatches:
            return Verdict(
                False, count, prev, raw.seq,
                "altered index column(s) " + ", ".join(mismatches) + " disagree with the hashed body",
            )
        prev = raw.hash
        count += 1
        expected_seq += 1
    return Verdict(True, count, prev)
