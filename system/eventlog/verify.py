"""Walking the hash chain: proves a log untampered, or names the first entry that is not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from system.eventlog.codec import GENESIS_HASH, Envelope, body_decoder, chain_hash
from system.eventlog.store import EventStore, LogDamaged, RawEntry


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    count: int
    head_hash: bytes
    bad_seq: int | None = None
    problem: str | None = None
    # Why the log is not a finished run's (None: its last entry is the run's RunFinished).
    incomplete: str | None = None
    # The run's label when a server wrote it ("serve XTKS"): a served venue has no end, so its
    # log has no RunFinished however it stopped.
    served: str | None = None

    @property
    def complete(self) -> bool:
        return self.ok and self.incomplete is None

    def __str__(self) -> str:
        if self.ok:
            tail = "" if self.incomplete is None else f"; incomplete: {self.incomplete}"
            return f"ok: {self.count} events, head {self.head_hash.hex()}{tail}"
        if self.bad_seq is None:
            return f"bad: {self.problem}"
        return f"bad at seq {self.bad_seq}: {self.problem}"


# The entry a run's owner appends at its clean end (system.runtime.manifest.RunFinished).
FINISH_TYPE = "RunFinished"
START_TYPE = "RunStarted"
SERVED_PREFIX = "serve "  # RunStarted.label of a log `chronex serve` writes


def _served(first: Envelope | None) -> str | None:
    """The label of a served run's RunStarted (None for any other log)."""
    if first is None or first.type != START_TYPE:
        return None
    try:
        label = msgspec.msgpack.decode(first.payload).get("label")
    except (msgspec.DecodeError, AttributeError):
        return None
    return label if isinstance(label, str) and label.startswith(SERVED_PREFIX) else None


def _incomplete(last: Envelope | None, count: int, served: str | None = None) -> str | None:
    """Why a sound chain is not a finished run, read from its last entry's envelope."""
    if last is None:
        return "the log is empty"
    if last.type != FINISH_TYPE:
        if served is not None:
            return (
                f"no {FINISH_TYPE}: a served venue has no end ({served!r}), so a clean stop and a"
                " crash end its log alike; every entry up to the head is sound"
            )
        return f"no {FINISH_TYPE} at the end (the run that wrote it did not end cleanly, or is still writing)"
    try:
        entries = msgspec.msgpack.decode(last.payload).get("entries")
    except (msgspec.DecodeError, AttributeError):
        entries = None
    if entries != count - 1:
        return f"{FINISH_TYPE} counts {entries} entries before it, but {count - 1} precede it"
    return None


_DAMAGED_ENTRY = "damaged entry: its body or hash cannot be read (the file is cut short or corrupt)"


def _decode(raw: RawEntry, prev: bytes) -> Envelope | str:
    """The body's envelope. Payloads stay undecoded: integrity needs no record classes, so a log
    verifies in a process that never imported the modules that wrote it."""
    try:
        return body_decoder.decode(raw.body)
    # A flipped byte can break msgpack, a field's type or the UTF-8 of a string.
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as e:
        return f"undecodable body: {e}"


def verify(store: EventStore) -> Verdict:
    """Check gaplessness, order, each body against its hash and the chain, and the index columns
    against the body. Stops at the first problem and names its seq and what is wrong:

    - missing event (gap): a seq is absent;
    - reordering: entries are stored out of seq order (or one entry's body sits at another's seq);
    - altered payload: the body no longer matches the hash the next entry was chained to;
    - altered hash: the stored hash is not the one the next entry was chained to;
    - altered index column: a column stored beside the body (stream, type, times) disagrees with it.

    A sound chain is also checked for completeness: its last entry must be the ``RunFinished``
    of the run that wrote it (``Verdict.incomplete`` says why not; the chain is still ok).
    """
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    last: Envelope | None = None
    first: Envelope | None = None
    raws: Iterator[RawEntry] = store.read_raw(1)
    try:
        for raw in raws:
            if raw.body is None or raw.hash is None:
                return Verdict(False, count, prev, expected_seq, _DAMAGED_ENTRY)
            if raw.seq != expected_seq:
                return _misplaced(raw, raws, expected_seq, count, prev)
            if chain_hash(prev, raw.body) != raw.hash:
                return Verdict(False, count, prev, raw.seq, _why_unchained(raw, prev, next(raws, None)))
            ev = _decode(raw, prev)
            if isinstance(ev, str):
                return Verdict(False, count, prev, raw.seq, ev)
            mismatches = [
                f"{name} (stored {stored!r}, body {inbody!r})"
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
                    "altered index column " + ", ".join(mismatches) + ": disagrees with the hashed body",
                )
            prev = raw.hash
            count += 1
            expected_seq += 1
            last = ev
            if first is None:
                first = ev
    except LogDamaged as e:  # storage that cannot be read past this entry
        return Verdict(False, count, prev, expected_seq, f"{e.detail}, reading from seq {expected_seq}")
    served = _served(first)
    return Verdict(True, count, prev, incomplete=_incomplete(last, count, served), served=served)


def _why_unchained(raw: RawEntry, prev: bytes, nxt: RawEntry | None) -> str:
    """Tell apart, as far as the bytes allow, what broke the link at ``raw``."""
    ev = _decode(raw, prev)
    if not isinstance(ev, str) and ev.seq != raw.seq:
        return f"reordering: the entry stored at seq {raw.seq} is the body of seq {ev.seq}"
    if nxt is not None and nxt.seq == raw.seq + 1 and nxt.body is not None:
        if chain_hash(raw.hash, nxt.body) == nxt.hash:
            # The next entry still chains to the stored hash, so the hash is original: the body changed.
            return "altered payload: the body does not hash to its stored hash"
        return "altered hash: the stored hash matches neither its body nor the next entry's link"
    return "altered entry: sha256(prev_hash || body) does not match the stored hash"


def _misplaced(
    raw: RawEntry, rest: Iterator[RawEntry], expected: int, count: int, prev: bytes
) -> Verdict:
    if raw.seq < expected:
        # A stray entry before its place (an edited seq column): name the entry its body says it is.
        ev = _decode(raw, prev)
        body_seq = ev.seq if not isinstance(ev, str) and ev.seq >= expected else expected
        return Verdict(
            False, count, prev, body_seq,
            f"reordering: an entry stored as seq {raw.seq} (its body says seq {body_seq}) "
            f"appears where seq {expected} should be",
        )
    # Is the expected seq stored later (reordered) or nowhere (missing)? One pass, only on failure.
    if any(r.seq == expected for r in rest):
        return Verdict(
            False, count, prev, expected,
            f"reordering: seq {expected} is stored after seq {raw.seq}",
        )
    return Verdict(
        False, count, prev, expected,
        f"missing event (gap): seq {expected} is absent, the next stored is seq {raw.seq}",
    )
