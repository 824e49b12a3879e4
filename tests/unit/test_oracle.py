"""The shadow oracle's parts: execution reports read as Chronex events, observations compared under
tolerances, the target's sessions file checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steps.drivers.execreports import Pending, Translator
from steps.instruments import default_instrument
from system.engine import (
    CancelReason,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    RejectReason,
    Side,
    SubmitOrder,
    TradeExecuted,
)
from system.gateways.fix.config import ConfigError
from system.gateways.fix.message import FixMessage
from system.oracle import Tolerances, compare, render
from system.oracle.config import load_target

INST = default_instrument("XTKS:7203")


def _er(**f: str) -> FixMessage:
    tags = {
        "clid": 11,
        "oid": 37,
        "et": 150,
        "st": 39,
        "px": 31,
        "qty": 32,
        "leaves": 151,
        "text": 58,
        "t": 60,
    }
    return FixMessage.of([(35, "8"), *((tags[k], v) for k, v in f.items())])


def _submit(tr: Translator, clid: str, name: str, account: str, side: Side, qty: int, price: int) -> None:
    cmd = SubmitOrder(
        account=account, client_order_id=name, instrument=INST.id, side=side, qty=qty, price=price
    )
    tr.pending[clid] = Pending("SubmitOrder", cmd)


def test_reports_become_the_events_chronex_would_log() -> None:
    """A New report is an OrderAccepted under the scenario's name; two fills of opposite sides are one
    trade with the acting order as aggressor; a Canceled report is an OrderCancelled with its reason."""
    tr = Translator({INST.id: INST})
    _submit(tr, "x1", "a1", "alice", Side.BUY, 300, 24990)
    (acc, t), *_ = tr.translate(
        _er(clid="x1", oid="T-9", et="0", st="0", leaves="300", t="20270104-01:00:00"), 5
    )
    assert isinstance(acc, OrderAccepted) and (acc.order_id, acc.client_order_id, acc.qty) == (1, "a1", 300)
    assert t == 1799024400_000_000_000
    _submit(tr, "x2", "s1", "bob", Side.SELL, 100, 24990)
    tr.translate(_er(clid="x2", oid="T-10", et="0", st="0", leaves="100"), 5)
    tr.acting = "x2"
    assert (
        tr.translate(_er(clid="x1", oid="T-9", et="F", st="1", px="2499", qty="100", leaves="200"), 6) == []
    )
    ((trade, _),) = tr.translate(
        _er(clid="x2", oid="T-10", et="F", st="2", px="2499", qty="100", leaves="0"), 6
    )
    assert isinstance(trade, TradeExecuted)
    assert (trade.buy_order_id, trade.sell_order_id, trade.price, trade.qty) == (1, 2, 24990, 100)
    assert trade.aggressor is Side.SELL and trade.resting_order_id == 1
    ((cxl, _),) = tr.translate(_er(clid="x3", oid="T-9", et="4", st="4", leaves="0", text="STP"), 7)
    assert isinstance(cxl, OrderCancelled) and (cxl.qty, cxl.reason) == (200, CancelReason.STP)


def test_a_rejection_keeps_its_reason() -> None:
    """A Rejected report names the engine's reason from its Text, else from OrdRejReason."""
    tr = Translator({INST.id: INST})
    _submit(tr, "x1", "a1", "alice", Side.BUY, 100, 9999)
    ((rej, _),) = tr.translate(_er(clid="x1", oid="NONE", et="8", st="8", text="OFF_TICK: not on tick"), 1)
    assert (
        isinstance(rej, OrderRejected) and rej.reason is RejectReason.OFF_TICK and rej.client_order_id == "a1"
    )
    _submit(tr, "x2", "a2", "alice", Side.BUY, 100, 9999)
    msg = FixMessage.of([(35, "8"), (11, "x2"), (150, "8"), (39, "8"), (103, "18"), (58, "tick")])
    ((rej2, _),) = tr.translate(msg, 1)
    assert rej2.reason is RejectReason.OFF_TICK


def test_an_unknown_order_is_a_problem_not_an_event() -> None:
    """A report for an OrderID never acknowledged is noted as a problem and makes no event."""
    tr = Translator({INST.id: INST})
    assert tr.translate(_er(oid="ghost", et="4", st="4"), 1) == []
    assert "ghost" in tr.problems[0]


def test_first_divergence_is_marked_and_named() -> None:
    """compare finds the first differing observation and the fields that differ; render marks it."""
    same = {"kind": "accepted", "order": "a1", "qty": 100, "time": 1}
    target = [same, {"kind": "cancelled", "order": "rest", "reason": "STP", "time": 1}]
    oracle = [same, {"kind": "cancelled", "order": "inc", "reason": "STP", "time": 1}]
    d = compare(target, oracle, Tolerances())
    assert d is not None and (d.index, d.fields) == (1, ("order",))
    text = render(d, "SubmitOrder inc", Tolerances())
    marked = [ln for ln in text.splitlines() if ln.startswith(">>")]
    assert marked == [next(ln for ln in text.splitlines() if "order=rest" in ln)]
    assert "order=inc" in marked[0]


def test_tolerances_forgive_what_they_name() -> None:
    """Ignored fields, mapped accounts and times within the clock skew do not count."""
    a = [{"kind": "accepted", "order": "a1", "account": "ACC1", "reason": "x", "time": 1_000}]
    b = [{"kind": "accepted", "order": "a1", "account": "alice", "reason": "y", "time": 1_500}]
    assert compare(a, b, Tolerances()) is not None
    tol = Tolerances(ignore=frozenset({"reason"}), accounts={"alice": "ACC1"}, clock_skew_ns=500)
    assert compare(a, b, tol) is None
    assert compare(
        a, b, Tolerances(ignore=frozenset({"reason"}), accounts={"alice": "ACC1"}, clock_skew_ns=499)
    )


@given(
    st.lists(
        st.fixed_dictionaries({"kind": st.sampled_from(["accepted", "trade"]), "qty": st.integers(1, 5)})
    )
)
def test_a_sequence_agrees_with_itself_and_not_with_a_shorter_one(obs: list[dict[str, object]]) -> None:
    """Any observation sequence matches itself; dropping its last entry is a divergence at that index."""
    assert compare(obs, list(obs), Tolerances()) is None
    if obs:
        d = compare(obs, obs[:-1], Tolerances())
        assert d is not None and d.index == len(obs) - 1


GOOD = """
[target]
external = true
name = "uat"
port = 9878
[oracle]
clock_skew_ms = 2
ignore = ["reason"]
[[session]]
sender_comp_id = "QA"
target_comp_id = "UAT"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("external = true", "external = false"), "target.external: False"),
        (GOOD.replace("port = 9878", 'port = "x"'), "target.port: 'x' is not a port"),
        (GOOD.replace('ignore = ["reason"]', 'ignore = ["colour"]'), "oracle.ignore: ['colour']"),
        (GOOD.replace("clock_skew_ms = 2", "clock_skew_ms = -1"), "oracle.clock_skew_ms: -1"),
        (GOOD.replace('sender_comp_id = "QA"\n', ""), "sender_comp_id"),
        ("[target", "not valid TOML"),
    ],
)
def test_a_bad_sessions_file_names_file_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    """Each bad entry of a target's sessions file is refused with the file, the key and the value."""
    f = tmp_path / "target.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_target(f)
    assert str(f) in str(e.value) and message in str(e.value)


def test_a_good_sessions_file(tmp_path: Path) -> None:
    """A good file gives the target's address (--target overrides it) and the tolerances."""
    f = tmp_path / "target.toml"
    f.write_text(GOOD, encoding="utf-8")
    cfg = load_target(f, target="10.0.0.5:7000", oracle=True)
    assert (cfg.name, cfg.host, cfg.port, cfg.oracle) == ("uat", "10.0.0.5", 7000, True)
    assert cfg.tolerances.clock_skew_ns == 2_000_000 and cfg.tolerances.ignore == {"reason"}
    assert cfg.session.sender_comp_id == "QA" and len(cfg.sha256) == 64
