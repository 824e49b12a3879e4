"""The sessions TOML and the FIX 4.4 data dictionary: what loads, and errors that name the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.gateways.fix import ConfigError, Dictionary, FixMessage, load_dictionary, load_sessions
from system.gateways.fix.dictionary import DictionaryError
from system.gateways.fix.reasons import SessionReject

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_sessions_file_loads() -> None:
    cfg = load_sessions(ROOT / "config" / "fix-sessions.example.toml")
    oe = cfg.find("CHRONEX", "CLIENT1")
    assert oe is not None and oe.role == "order-entry" and oe.accounts and oe.username
    assert {s.role for s in cfg.sessions} == {"order-entry", "drop-copy"}
    assert cfg.for_account(oe.accounts[0])[0] is oe


def test_defaults_apply_to_every_session(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[defaults]\nheartbeat_s = 5\n[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\n'
        '[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "C"\nheartbeat_s = 9\n'
    )
    cfg = load_sessions(path)
    assert [s.heartbeat_s for s in cfg.sessions] == [5, 9]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[session]]\nsender_comp_id = "A"\n', "session[0].target_comp_id: missing"),
        ('[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\nrole = "admin"\n',
         "session[0].role: 'admin' is not one of order-entry, drop-copy"),
        ('[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\nheartbeat_s = "30"\n',
         "session[0].heartbeat_s: '30' is not a int"),
        ('[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\nheartbeat_s = 0\n',
         "session[0].heartbeat_s: 0 must be positive"),
        ('[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\naccounts = ["", 1]\n',
         "session[0].accounts: ['', 1] must be a list of non-empty strings"),
        ('[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\nusername = "u"\n',
         "session[0]: username and password go together"),
        ('[[session]]\nsender_comp_id = "A"\ntarget_comp_id = "B"\n' * 2,
         "session[1]: CompID pair A->B is listed twice"),
        ("", "at least one [[session]]"),
        ("[[session]\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_sessions_files_name_file_key_and_value(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as e:
        load_sessions(path)
    assert str(e.value).startswith(str(path))
    assert message in str(e.value)


def test_a_missing_sessions_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_sessions(tmp_path / "nope.toml")


def test_dictionary_knows_the_session_and_order_messages() -> None:
    d = load_dictionary()
    assert d.begin_string == "FIX.4.4"
    assert {"0", "1", "2", "3", "4", "5", "A", "D", "F", "G", "H", "q", "8", "9", "j"} <= set(d.messages)
    assert d.messages["D"].required == (11, 54, 60, 40)
    assert d.fields[111].name == "MaxFloor" and d.fields[99].name == "StopPx"


def test_venue_fields_can_be_added() -> None:
    """A tag outside FIX 4.4 is an invalid tag number until the dictionary is told about it."""
    d = load_dictionary()
    msg = FixMessage.of(
        [
            (8, "FIX.4.4"),
            (9, 1),
            (35, "D"),
            (34, 2),
            (49, "A"),
            (52, "20310106-00:00:00"),
            (56, "B"),
            (11, "c"),
            (54, 1),
            (60, "20310106-00:00:00"),
            (40, 2),
            (7928, "X"),
            (10, "000"),
        ]
    )
    with pytest.raises(SessionReject, match="371=7928"):
        d.validate(msg)
    d.with_fields({7928: ("SelfTradePrevention", "CHAR")}).validate(msg)


def test_a_malformed_dictionary_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('begin_string = "FIX.4.4"\n')
    with pytest.raises(DictionaryError, match=str(path)):
        load_dictionary(path)


def test_a_copy_with_replaced_fields_validates_against_them() -> None:
    """The application extends the dictionary by copying it and replacing ``fields``."""
    import copy

    from system.gateways.fix.dictionary import FieldDef

    base = load_dictionary()
    d = copy.copy(base)
    d.fields = {**base.fields, 7928: FieldDef(7928, "SelfTradePrevention", "CHAR", frozenset({b"N", b"O"}))}
    msg = FixMessage.of(
        [
            (8, "FIX.4.4"),
            (9, 1),
            (35, "0"),
            (34, 2),
            (49, "A"),
            (52, "20310106-00:00:00"),
            (56, "B"),
            (10, "000"),
        ]
    )
    base.validate(msg)  # index built for the base
    order = FixMessage.of(
        [
            (8, "FIX.4.4"),
            (9, 1),
            (35, "D"),
            (34, 2),
            (49, "A"),
            (52, "20310106-00:00:00"),
            (56, "B"),
            (11, "c"),
            (54, 1),
            (60, "20310106-00:00:00"),
            (40, 2),
            (7928, "O"),
        ]
    )
    d.validate(order)
    with pytest.raises(SessionReject, match="373=5, 371=7928"):
        d.validate(FixMessage.of([*order.fields[:-1], (7928, "Z")]))
    with pytest.raises(SessionReject, match="371=7928"):
        base.validate(order)


_POOL = [11, 21, 38, 40, 44, 54, 55, 59, 60, 167, 336, 386, 447, 448, 452, 453, 802, 523, 999, 34]
_GOOD = {11: b"ID", 21: b"1", 38: b"100", 40: b"2", 44: b"10.5", 54: b"1", 55: b"X", 59: b"0",
         60: b"20310106-00:00:00", 167: b"CS", 336: b"S", 386: b"1", 447: b"D", 448: b"P", 452: b"1",
         453: b"1", 802: b"1", 523: b"s", 999: b"x", 34: b"2"}  # fmt: skip
_VALUES = [b"", b"1", b"2", b"0", b"3", b"X", b"CS", b"+1", b"20310106-00:00:00", b"100.5", b"-1"]


@st.composite
def order_shapes(draw: st.DrawFn) -> list[int]:
    """Tag sequences of valid NewOrderSingles: required and optional tags in any order, then
    perhaps a Parties group of one to three instances."""
    extras = draw(st.lists(st.sampled_from([21, 38, 44, 55, 59, 167, 336]), unique=True))
    tags = draw(st.permutations([11, 54, 60, 40, *extras]))
    instances = draw(st.integers(0, 3))
    if instances:
        tags += [453] + [448, 452] * instances
    return tags


@given(order_shapes(), st.lists(st.sampled_from(_VALUES), min_size=20, max_size=20), st.integers(0, 4))
def test_validation_of_a_known_shape_answers_as_a_cold_dictionary_does(
    tags: list[int], other_values: list[bytes], count: int
) -> None:
    """The shape cache is invisible: a message shaped like one seen before gets exactly the
    answer (reject reason and tag) it would get from a dictionary that has seen nothing."""
    header = [(8, b"FIX.4.4"), (9, b"1"), (35, b"D"), (34, b"2"), (49, b"A"),
              (52, b"20310106-00:00:00"), (56, b"B")]  # fmt: skip
    good = {**_GOOD, 453: str((len(tags) - tags.index(453) - 1) // 2 if 453 in tags else 0).encode()}
    first = FixMessage([*header, *[(t, good[t]) for t in tags], (10, b"000")])
    assert outcome(_COLD, first) is None  # the strategy makes valid shapes
    values = [b"%d" % count if t == 453 else other_values[i] for i, t in enumerate(tags)]
    second = FixMessage([*header, *zip(tags, values, strict=True), (10, b"000")])
    _WARM.validate(first)
    _COLD._shapes.clear()
    assert outcome(_WARM, second) == outcome(_COLD, second)


def outcome(d: Dictionary, msg: FixMessage) -> tuple[int, int | None] | None:
    try:
        d.validate(msg)
    except SessionReject as r:
        return (int(r.reason), r.tag)
    return None


_WARM = load_dictionary(ROOT / "system" / "gateways" / "fix" / "FIX44.toml")
_COLD = load_dictionary(ROOT / "system" / "gateways" / "fix" / "FIX44.toml")


def test_a_known_shape_with_a_wrong_group_count_is_still_rejected() -> None:
    d = load_dictionary(ROOT / "system" / "gateways" / "fix" / "FIX44.toml")
    head = [(8, "FIX.4.4"), (9, 1), (35, "D"), (34, 2), (49, "A"), (52, "20310106-00:00:00"), (56, "B")]
    body = [
        (11, "c"),
        (54, 1),
        (60, "20310106-00:00:00"),
        (40, 2),
        (453, 2),
        (448, "P1"),
        (452, 1),
        (448, "P2"),
    ]
    d.validate(FixMessage.of([*head, *body, (10, "000")]))
    assert len(d._shapes) == 1
    wrong = [*body[:4], (453, 3), *body[5:]]
    with pytest.raises(SessionReject, match="373=16, 371=453"):
        d.validate(FixMessage.of([*head, *wrong, (10, "000")]))
    with pytest.raises(SessionReject, match="373=5, 371=54"):
        d.validate(FixMessage.of([*head, (11, "c"), (54, "Z"), *body[2:], (10, "000")]))
