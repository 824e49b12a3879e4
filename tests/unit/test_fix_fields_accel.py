"""The FIX field split in C (``system/gateways/fix/_fields.c``) gives exactly what codec.parse's
Python loop gives, and leaves every case that is not plain (with its errors) to that loop."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.gateways.fix import codec, dictionary
from system.gateways.fix.codec import GarbledError, encode
from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import SessionReject
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


# -- the dictionary's value checks in C (values_ok, format_ok) ------------------------------------
def near(pattern: str) -> st.SearchStrategy[bytes]:
    """Values close to a format: each 'd' a digit (or now and then anything), other characters
    kept (or now and then dropped or doubled), so the checks' edges are hit often."""
    junk = st.sampled_from(list(b"0123456789-.:wYN x"))
    parts = [
        st.one_of(st.integers(0, 9).map(lambda d: str(d).encode()), junk.map(lambda c: bytes([c])))
        if ch == "d"
        else st.sampled_from([ch.encode(), b"", ch.encode() * 2, b"0"])
        for ch in pattern
    ]
    return st.tuples(*parts).map(b"".join)


FORMAT_VALUES = st.one_of(
    st.binary(max_size=30),
    near("dddddddd-dd:dd:dd"),
    near("dddddddd-dd:dd:dd.ddd"),
    near("dddddddd-dd:dd:dd.dddddd"),
    near("dddddddd-dd:dd:dd.ddddddddd"),
    near("dd:dd:dd.ddd"),
    near("dddddddd"),
    near("ddddddwd"),
    near("-ddd.dd"),
    near("d.d"),
    st.sampled_from([b"", b"-", b".", b"-.", b"5.", b".5", b"-.5", b"1.2.3", b"--1", b"Y", b"N", b"w1"]),
)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(sorted(dictionary.FORMAT_CODES)), FORMAT_VALUES)
def test_each_format_in_c_is_the_pythons(name: str, value: bytes) -> None:
    assert fields_c.format_ok(dictionary.FORMAT_CODES[name], value) == dictionary._FORMATS[name](value)


def test_every_format_that_has_a_check_has_a_code() -> None:
    assert set(dictionary.FORMAT_CODES) == set(dictionary._FORMATS)


ORDER_TAGS = [8, 9, 35, 34, 49, 52, 56, 11, 1, 55, 54, 60, 38, 40, 44, 59,
              453, 448, 447, 452, 448, 447, 452, 10]  # fmt: skip
ORDER_VALUES = [b"FIX.4.4", b"170", b"D", b"12", b"L0", b"20310106-01:00:00.000", b"CHRONEX", b"c1", b"ACC0",
                b"XTKS:7203", b"1", b"20310106-01:00:00", b"100", b"2", b"2500", b"0", b"2", b"a", b"D", b"3",
                b"b", b"D", b"3", b"000"]  # fmt: skip


def outcome(d: dictionary.Dictionary, fields: list[tuple[int, bytes]]) -> object:
    try:
        d.validate(FixMessage(fields))
    except SessionReject as e:
        return (int(e.reason), e.tag)
    return None


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(ORDER_TAGS) - 1), FORMAT_VALUES), max_size=4))
def test_a_known_shapes_values_are_judged_alike_in_c_and_python(changes: list[tuple[int, bytes]]) -> None:
    """A NewOrderSingle with a PartyIDs group, its shape learnt from a good one, then with some
    values changed: the C check and the Python one accept the same messages, and the reject
    (reason and tag) is the same."""
    good = list(zip(ORDER_TAGS, ORDER_VALUES, strict=True))
    with_c = dictionary.load_dictionary(dictionary.DEFAULT_PATH)
    assert outcome(with_c, good) is None
    saved = dictionary._values_ok
    dictionary._values_ok = None  # type: ignore[assignment]
    try:
        without = dictionary.load_dictionary(dictionary.DEFAULT_PATH)
        assert outcome(without, good) is None
    finally:
        dictionary._values_ok = saved
    assert all(shape[2] is not None for shape in with_c._shapes.values())  # the C check is in use
    assert all(shape[2] is None for shape in without._shapes.values())
    fields = list(good)
    for i, value in changes:
        fields[i] = (fields[i][0], value)
    assert outcome(with_c, fields) == outcome(without, fields)


def test_values_ok_leaves_what_it_cannot_read_to_python() -> None:
    plan = ((0, 1, None),)
    assert fields_c.values_ok([(1, b"5")], plan, ()) is True
    assert fields_c.values_ok([(1, "5")], plan, ()) is None  # type: ignore[list-item]
    assert fields_c.values_ok([(1, b"5")], ((3, 1, None),), ()) is None  # index out of range
    assert fields_c.values_ok([(1, b"5")], ((0, 99, None),), ()) is None  # no such format
    assert fields_c.values_ok([(1, b"5")], ((0, 0, frozenset({b"6"})),), ()) is False
    assert fields_c.values_ok([(1, b"2")], (), ((0, b"2"),)) is True
    assert fields_c.values_ok([(1, b"02")], (), ((0, b"2"),)) is False
    assert fields_c.values_ok([(1, b"")], (), ()) is False
    with pytest.raises(TypeError):
        fields_c.values_ok((), (), ())  # type: ignore[arg-type]
