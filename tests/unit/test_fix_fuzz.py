"""Hypothesis-fuzzed FIX input against a logged-on acceptor: random bytes, truncated frames, bad
checksums, huge BodyLengths, missing required tags and random fields. The acceptor never raises,
never buffers without bound, and answers each bad frame as FIX prescribes: garbled frames are
ignored (the session goes on), field errors get a session Reject naming the tag."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.clock import FixedClock, from_datetime
from system.gateways.fix import FixAcceptor, load_dictionary, store_factory
from system.gateways.fix.acceptance import AcceptanceApplication, acceptance_sessions
from system.gateways.fix.codec import encode_fields, frame
from system.gateways.fix.message import FixMessage
from system.gateways.fix.testkit import Peer

T0 = from_datetime(datetime(2031, 1, 6, tzinfo=UTC))
STAMP = b"20310106-00:00:00"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ADMIN_ANSWERS = {"0", "1", "2", "3", "4", "5", "A", "j", "D", "d"}


def logged_on() -> Peer:
    clock = FixedClock(T0)
    acceptor = FixAcceptor(
        acceptance_sessions(),
        AcceptanceApplication(),
        clock,
        store_factory("memory:"),
        timer_clock=FixedClock(0),
    )
    peer = Peer(acceptor, clock=clock)
    [logon] = peer.logon()
    assert logon.msg_type == "A"
    return peer


def probe(peer: Peer, test_id: str, *, copies: int = 1) -> list[FixMessage]:
    """Send a PossDup TestRequest with the expected seq ``copies`` times; the Heartbeats back."""
    seq = peer.acceptor.session("ISLD", "TW44").store.next_target_seq
    raw = peer.build("1", [(112, test_id)], seq=seq, header=[(43, "Y"), (122, STAMP)])
    return [m for m in peer.send_raw(raw * copies) if m.msg_type == "0" and m.get(112) == test_id.encode()]


@FUZZ
@given(st.binary(max_size=400).filter(lambda b: b"8=FIX" not in b))
def test_random_bytes_are_ignored_and_the_session_goes_on(junk: bytes) -> None:
    """Bytes that hold no frame are dropped; the next valid message is answered."""
    peer = logged_on()
    assert [m for m in peer.send_raw(junk) if m.msg_type not in ("0",)] == []
    assert not peer.closed
    assert len(probe(peer, "after-junk")) == 1


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_never_crash_the_acceptor_or_grow_its_buffer(data: bytes) -> None:
    """Whatever arrives, the acceptor does not raise and holds back at most a bounded tail."""
    peer = logged_on()
    out = peer.send_raw(b"8=FIX.4.4\x019=" + data) + peer.send_raw(data)
    assert all(m.msg_type in ADMIN_ANSWERS for m in out)
    assert peer.conn is not None
    assert peer.conn._framer.pending() <= len(data) * 2 + 16


@FUZZ
@given(st.integers(min_value=1), st.data())
def test_truncated_frames_cost_at_most_the_frames_they_swallow(cut: int, data: st.DataObject) -> None:
    """A frame cut short is dropped with whatever its BodyLength swallows; a resent copy gets through."""
    peer = logged_on()
    raw = peer.build("D", [(11, "T"), (21, 3), (40, 1), (54, 1), (55, "X"), (60, STAMP)], seq=99)
    truncated = raw[: cut % (len(raw) - 1) + 1]
    peer.send_raw(truncated)
    assert not peer.closed
    answers = probe(peer, "resync", copies=3)
    assert len(answers) == 1


@FUZZ
@given(st.integers(min_value=1, max_value=255))
def test_bad_checksum_is_ignored_and_the_good_copy_is_processed(delta: int) -> None:
    """A CheckSum off by any amount: no answer, the seq is still expected, the good copy answers."""
    peer = logged_on()
    raw = peer.build("1", [(112, "ck")], seq=2)
    bad = raw[:-4] + b"%03d\x01" % ((int(raw[-4:-1]) + delta) % 256)
    assert peer.send_raw(bad) == []
    assert [s.get(112) for s in peer.send_raw(raw)] == [b"ck"]


@FUZZ
@given(st.integers(min_value=(1 << 20) + 1, max_value=10**30))
def test_huge_body_length_is_ignored_without_waiting_for_it(length: int) -> None:
    """A BodyLength beyond the bound is garbled at once: nothing buffered, the next frame answered."""
    peer = logged_on()
    assert peer.send_raw(b"8=FIX.4.4\x019=%d\x0135=D\x0134=2\x01" % length) == []
    assert peer.conn is not None and peer.conn._framer.pending() == 0
    assert len(probe(peer, "after-huge")) == 1


_DICT = load_dictionary()
_CASES = [
    (mt, tag)
    for mt, mdef in sorted(_DICT.messages.items())
    if mt not in ("A", "5", "4", "2")  # admin flow messages: their handling is checked by the session cases
    for tag in mdef.required
]
_SAMPLE = {
    **dict.fromkeys(
        ["INT", "SEQNUM", "LENGTH", "FLOAT", "QTY", "PRICE", "PRICEOFFSET", "AMT", "PERCENTAGE"], "1"
    ),
    "NUMINGROUP": "0",
    "CHAR": "1",
    "BOOLEAN": "Y",
    "UTCTIMESTAMP": STAMP.decode(),
    "LOCALMKTDATE": "20310106",
    "UTCDATEONLY": "20310106",
    "MONTHYEAR": "203101",
    "CURRENCY": "JPY",
}


def _value(tag: int) -> str:
    f = _DICT.fields[tag]
    if f.values:
        return sorted(f.values)[0].decode()
    return _SAMPLE.get(f.type, "X")


@pytest.mark.parametrize(("msg_type", "missing"), _CASES)
def test_missing_required_tag_is_rejected_naming_it(msg_type: str, missing: int) -> None:
    """Every required body tag of every message the dictionary defines: Reject 373=1, 371=tag."""
    peer = logged_on()
    body = [(t, _value(t)) for t in _DICT.messages[msg_type].required if t != missing]
    [reject] = peer.send(msg_type, body)
    assert (reject.msg_type, reject.get(373), reject.get(371)) == ("3", b"1", str(missing).encode())
    assert len(probe(peer, "next")) == 1


@pytest.mark.parametrize("missing", [34, 49, 52, 56])
def test_missing_required_header_tag_is_rejected_naming_it(missing: int) -> None:
    peer = logged_on()
    fields = [(35, "0"), (34, 2), (49, "TW44"), (52, STAMP), (56, "ISLD")]
    out = peer.send_raw(frame(b"FIX.4.4", encode_fields([f for f in fields if f[0] != missing])))
    assert [(m.msg_type, m.get(373), m.get(371)) for m in out][:1] == [("3", b"1", str(missing).encode())]


@FUZZ
@given(
    st.sampled_from(["0", "1", "D", "F", "G", "8", "j", "q", "X", "ZZ"]),
    st.lists(
        st.tuples(st.integers(-5, 1200), st.binary(max_size=12).filter(lambda v: b"\x01" not in v)),
        max_size=12,
    ),
)
def test_random_fields_get_an_answer_of_a_known_kind_and_never_crash(
    msg_type: str, body: list[tuple[int, bytes]]
) -> None:
    """Random tags and values in an otherwise valid frame: the answer is a Reject, a business reject,
    an echo or a heartbeat (never a crash), and the session still answers afterwards."""
    peer = logged_on()
    body = [(t, v) for t, v in body if t not in (8, 9, 10, 35, 34, 43, 49, 52, 56, 122)]
    out = peer.send(msg_type, body)
    assert all(m.msg_type in ADMIN_ANSWERS for m in out)
    if not peer.closed:
        assert len(probe(peer, "still-there")) == 1
