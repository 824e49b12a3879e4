"""The FIX field split in C (``system/gateways/fix/_fields.c``) gives exactly what codec.parse's
Python loop gives, and leaves every case that is not plain (with its errors) to that loop."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.gateways.fix import codec
from system.gateways.fix.codec import GarbledError, encode
from tests.extensions import require

fields_c = require("system.gateways.fix._fields", "system/gateways/fix/_fields.c")


def parse_py(raw: bytes) -> object:
    """codec.parse with the C split switched off: the message, or the error it raises."""
    saved = codec._split_plain
    codec._split_plain = None
    try:
        return codec.parse(raw).fields
    except GarbledError as e:
        return ("garbled", str(e))
    finally:
        codec._split_plain = saved


def parse_c(raw: bytes) -> object:
    try:
        return codec.parse(raw).fields
    except GarbledError as e:
        return ("garbled", str(e))


values = st.binary(max_size=12).filter(lambda b: b"\x01" not in b)
tags = st.one_of(
    st.integers(1, 99_999).map(lambda t: str(t).encode()),
    st.sampled_from([b"0", b"-5", b"007", b"1234567890", b"", b"x1", b"35 "]),
)
pieces = st.lists(
    st.one_of(
        st.tuples(tags, values).map(lambda tv: tv[0] + b"=" + tv[1] + b"\x01"),
        st.sampled_from([b"\x01", b"noequals\x01", b"=v\x01", b"8=FIX.4.4\x01"]),
    ),
    max_size=25,
)


@settings(max_examples=500, deadline=None)
@given(pieces, st.sampled_from([b"", b"10=000", b"35=D"]))
def test_same_fields_or_same_error_as_the_python_loop(parts: list[bytes], tail: bytes) -> None:
    raw = b"".join(parts) + tail
    assert parse_c(raw) == parse_py(raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20_000), values.filter(bool)), min_size=1, max_size=30))
def test_plain_messages_take_the_c_path(pairs: list[tuple[int, bytes]]) -> None:
    raw = b"".join(b"%d=%s\x01" % (t, v) for t, v in pairs)
    got = fields_c.split(raw)
    assert got == pairs
    assert got == parse_py(raw)


def test_a_whole_order_and_what_is_left_to_python() -> None:
    raw = encode("FIX.4.4", [(35, "D"), (49, "L1"), (56, "CHRONEX"), (34, 12), (11, "a=b"), (44, "2500")])
    assert fields_c.split(raw) == codec.parse(raw).fields
    assert dict(fields_c.split(raw) or [])[11] == b"a=b"  # '=' inside a value belongs to it
    for odd in (b"35=D\x010=x\x01", b"35=D\x01-1=x\x01", b"35=D", b"35=D\x01\x01", b"1234567890=x\x01", b""):
        assert fields_c.split(odd) is None
    with pytest.raises(TypeError):
        fields_c.split("35=D\x01")  # type: ignore[arg-type]


def encode_py(fields: list[tuple[object, object]]) -> object:
    """codec.encode_fields with the C join switched off: the bytes, or the error it raises."""
    saved = codec._join_plain
    codec._join_plain = None  # type: ignore[assignment]
    try:
        return encode_c(fields)
    finally:
        codec._join_plain = saved


def encode_c(fields: list[tuple[object, object]]) -> object:
    try:
        return codec.encode_fields(fields)  # type: ignore[arg-type]
    except (ValueError, UnicodeError) as e:
        return (type(e).__name__, str(e))


field_values = st.one_of(
    st.binary(max_size=8),
    st.text(max_size=8),  # beyond Latin-1 too: the Python loop's UnicodeEncodeError
    st.text(alphabet=st.characters(max_codepoint=255), max_size=8),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.sampled_from([b"a\x01b", "x\x01", None, 1.5]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(-(2**70), 2**70), st.booleans()), field_values), max_size=20))
def test_join_gives_the_python_loops_bytes_or_its_error(fields: list[tuple[object, object]]) -> None:
    assert encode_c(fields) == encode_py(fields)


def test_join_takes_the_plain_case_and_leaves_the_rest() -> None:
    body = [(35, "8"), (37, b"O1"), (38, 100), (44, "2500.5"), (58, "é")]
    assert fields_c.join(body) == b"35=8\x0137=O1\x0138=100\x0144=2500.5\x0158=\xe9\x01"
    assert fields_c.join([]) == b""
    for odd in ([(1, True)], [(1, 1.5)], [(1, "ア")], [(1, b"\x01")], [(True, "x")], [(2**70, "x")], [(1,)]):
        assert fields_c.join(odd) is None  # type: ignore[arg-type]
    assert fields_c.join(((1, "x"),)) is None  # not a list


def test_split_pairs_cost_the_cycle_collector_nothing() -> None:
    """Each (tag, value) pair is untracked: young collections on the served path no longer walk
    every field of every message in flight. Nothing is lost: an int and a bytes hold no references."""
    import gc

    raw = b"8=FIX.4.4\x019=5\x0135=D\x0111=a\x0110=000\x01"
    fields = fields_c.split(raw)
    assert fields == [(8, b"FIX.4.4"), (9, b"5"), (35, b"D"), (11, b"a"), (10, b"000")]
    assert not any(gc.is_tracked(pair) for pair in fields)
    assert gc.is_tracked(fields)  # the list itself stays tracked, as any list
