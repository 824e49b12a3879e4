"""The hand-written FIX codec, cross-checked against simplefix as an independent encoder/decoder."""

from __future__ import annotations

import pytest
import simplefix
from hypothesis import given
from hypothesis import strategies as st

from system.gateways.fix.codec import (
    Framer,
    Garbled,
    GarbledError,
    checksum,
    encode,
    format_timestamp,
    parse,
    parse_timestamp,
)

# Body tags and values as a peer may send them: no SOH inside values, no 8/9/10/35 in the body,
# and none of the length tags simplefix treats as announcing binary data.
_RAW = {int(t) for t in simplefix.FixParser().raw_len_tags} | {
    int(t) for t in simplefix.FixParser().raw_data_tags
}
tags = st.integers(min_value=1, max_value=9999).filter(lambda t: t not in (8, 9, 10, 35) and t not in _RAW)
values = st.binary(min_size=1, max_size=30).filter(lambda v: b"\x01" not in v)
bodies = st.lists(st.tuples(tags, values), min_size=1, max_size=30)
msg_types = st.sampled_from(["0", "1", "A", "D", "8", "AE"])


def simplefix_encode(msg_type: str, body: list[tuple[int, bytes]]) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    m.append_pair(35, msg_type)
    for tag, value in body:
        m.append_pair(tag, value)
    return bytes(m.encode())


def simplefix_parse(raw: bytes) -> list[tuple[int, bytes]]:
    p = simplefix.FixParser()
    p.append_buffer(raw)
    m = p.get_message()
    assert m is not None
    return [(int(t), v) for t, v in m.pairs]


@given(msg_types, bodies)
def test_our_encoding_is_byte_identical_to_simplefix(msg_type: str, body: list[tuple[int, bytes]]) -> None:
    """BodyLength and CheckSum agree with an independent encoder, byte for byte."""
    assert encode("FIX.4.4", [(35, msg_type), *body]) == simplefix_encode(msg_type, body)


@given(msg_types, bodies)
def test_we_parse_what_simplefix_encodes_and_it_parses_ours(
    msg_type: str, body: list[tuple[int, bytes]]
) -> None:
    """Both parsers see the same ordered fields in both directions."""
    raw = simplefix_encode(msg_type, body)
    [frame] = Framer().feed(raw)
    assert isinstance(frame, bytes)
    ours = parse(frame)
    assert ours.fields == simplefix_parse(raw)
    assert ours.msg_type == msg_type
    assert [f for f in ours.fields if f[0] not in (8, 9, 10, 35)] == body


@given(st.lists(st.tuples(msg_types, bodies), min_size=1, max_size=5), st.data())
def test_framer_reassembles_a_stream_split_anywhere(
    messages: list[tuple[str, list[tuple[int, bytes]]]], data: st.DataObject
) -> None:
    """However the bytes are chunked, the same frames come out, in order."""
    raws = [encode("FIX.4.4", [(35, mt), *body]) for mt, body in messages]
    stream = b"".join(raws)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = Framer()
    out: list[bytes | Garbled] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        out += framer.feed(stream[prev:cut])
        prev = cut
    assert out == raws
    assert framer.pending() == 0


def test_bad_checksum_is_garbled_and_the_next_frame_survives() -> None:
    """A frame whose CheckSum is wrong comes out as Garbled; the following one is intact."""
    good = encode("FIX.4.4", [(35, "0"), (34, 2)])
    bad = good[:-4] + b"%03d\x01" % ((int(good[-4:-1]) + 1) % 256)
    out = Framer().feed(bad + good)
    assert isinstance(out[0], Garbled) and out[0].reason == "CheckSum does not match"
    assert out[1] == good


def test_huge_body_length_is_garbled_at_once_not_waited_for() -> None:
    """A BodyLength above the bound is refused immediately, so the reader never buffers it."""
    good = encode("FIX.4.4", [(35, "0"), (34, 2)])
    out = Framer(max_body=4096).feed(b"8=FIX.4.4\x019=99999999\x0135=0\x01" + good)
    assert isinstance(out[0], Garbled) and "exceeds" in out[0].reason
    assert out[1] == good


def test_short_body_length_swallows_only_its_own_message() -> None:
    """A BodyLength too short: the frame runs to its own CheckSum and is dropped (QuickFIX's rule)."""
    good = encode("FIX.4.4", [(35, "0"), (34, 2)])
    bad = b"8=FIX.4.4\x019=5\x0135=0\x0134=2\x0110=000\x01"
    out = Framer().feed(bad + good)
    assert isinstance(out[0], Garbled)
    assert out[-1] == good


def test_junk_before_a_frame_is_reported_and_skipped() -> None:
    good = encode("FIX.4.4", [(35, "0"), (34, 2)])
    out = Framer().feed(b"\x00\xffjunk" + good)
    assert isinstance(out[0], Garbled) and out[1] == good


@pytest.mark.parametrize(
    "raw",
    [b"8=FIX.4.4\x0135=0\x01no-equals\x01", b"8=FIX.4.4\x01x1=2\x01", b"8=FIX.4.4\x01=2\x01", b"8=FIX.4.4"],
)
def test_fields_that_are_not_tag_value_make_the_frame_garbled(raw: bytes) -> None:
    with pytest.raises(GarbledError):
        parse(raw)


def test_negative_and_zero_tags_parse_for_the_validator_to_reject() -> None:
    assert parse(b"8=FIX.4.4\x010=HI\x01-1=X\x01").fields == [(8, b"FIX.4.4"), (0, b"HI"), (-1, b"X")]


def test_values_with_soh_are_refused_on_encode() -> None:
    with pytest.raises(ValueError, match="tag 58"):
        encode("FIX.4.4", [(35, "0"), (58, "a\x01b")])


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_timestamps_round_trip_to_the_millisecond(t_ns: int) -> None:
    assert parse_timestamp(format_timestamp(t_ns)) == t_ns - t_ns % 1_000_000


@pytest.mark.parametrize(
    "bad", [b"20310106", b"20310106-25:00", b"2031010X-00:00:00", b"20310106-00:00:00.12"]
)
def test_malformed_timestamps_are_refused(bad: bytes) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(bad)


@given(st.binary(max_size=2000))
def test_checksum_is_the_byte_sum_modulo_256(data: bytes) -> None:
    assert checksum(data) == sum(data) % 256
