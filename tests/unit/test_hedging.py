"""The hedging engine's configuration and decisions, one behaviour at a time (no venue: reports
are executed as the commands a venue adapter would send)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import SubmitOrder
from system.engine.orders import Side
from system.engine.testkit import instrument
from system.eventlog import open_log
from system.hedging import (
    HedgeCommandRejected,
    HedgeHalted,
    HedgeOrderPlaced,
    Hedger,
    HedgeResumed,
    RecordHedgeFill,
    RecordVenueDown,
    as_hedging_config,
    load_hedging,
    parse_hedging,
)
from system.pricing import ConfigError, PricingConfig, SetFxRate
from system.runconfig import RunConfigured

INST = instrument("CRYPTO:BTC/USD", base_currency="BTC", quote_currency="USD", qty_increment="0.0001")
ROUTE = {"venue": "EXTA", "instrument": "EXTA:BTC/JPY", "qty_increment": "0.0001"}


def _cfg(**asset: Any) -> dict[str, Any]:
    spec = {"threshold": "1000000", "max_order_qty": "1", "venues": [ROUTE], **asset}
    return {"assets": {"BTC": spec}}


def _system(raw: dict[str, Any] | None = None) -> TradingSystem:
    clock = FixedClock(10**18)
    cfg = SystemConfig(instruments=(INST,), pricing=PricingConfig(), hedging=parse_hedging(raw or _cfg()))
    s = TradingSystem(cfg, open_log("memory://", clock), clock)
    s.start()
    return s


def _house_sells(s: TradingSystem, lots: int, price: int = 100_000_00) -> list[Any]:
    s.execute(SubmitOrder("client", f"c{lots}", INST.id, Side.BUY, lots, price=price))
    return s.execute(SubmitOrder("HOUSE", f"h{lots}", INST.id, Side.SELL, lots, price=price)).records


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_cfg(target="1000000"), "hedging.assets.BTC.target = '1000000': must be below threshold"),
        (_cfg(threshold="-5"), "hedging.assets.BTC.threshold = '-5': must be positive"),
        (_cfg(max_order_qty="0.00001"), "hedging.assets.BTC.max_order_qty = '0.00001'"),
        (_cfg(venues=[]), "hedging.assets.BTC.venues: name at least one venue"),
        (_cfg(venues=[ROUTE, ROUTE]), "hedging.assets.BTC.venues[1].venue = 'EXTA': listed twice"),
        (
            _cfg(venues=[{**ROUTE, "qty_increment": "0.000000001"}]),
            "venues[0].qty_increment = '0.000000001': not a whole number of the BTC unit",
        ),
        ({"max_attempts": 0}, "hedging.max_attempts = 0: must be at least 1"),
        ({"on_outage": "panic"}, "on_outage"),
        ({"house_accounts": []}, "hedging.house_accounts"),
        ({"assets": {"BTC": {"threshold": 1.5}}}, "hedging.assets.BTC.threshold"),
    ],
)
def test_bad_configuration_names_the_field(raw: dict[str, Any], message: str) -> None:
    """Every refused configuration says which key and which value."""
    with pytest.raises(ConfigError) as e:
        parse_hedging(raw, "run.toml")
    assert message in str(e.value) and "run.toml" in str(e.value)


def test_a_toml_file_and_the_logged_config_give_the_same_configuration(tmp_path: Any) -> None:
    """``[hedging]`` loads from TOML, and RunConfigured gives it back for replays."""
    path = tmp_path / "run.toml"
    path.write_text(
        '[hedging]\nbase_currency = "JPY"\n[hedging.assets.BTC]\nthreshold = "1000000"\n'
        'max_order_qty = "1"\n'
        'venues = [{ venue = "EXTA", instrument = "EXTA:BTC/JPY", qty_increment = "0.0001" }]\n'
    )
    cfg = load_hedging(path)
    assert cfg == parse_hedging(_cfg())
    logged = RunConfigured(msgspec.msgpack.encode(SystemConfig(hedging=cfg))).system_config()
    assert as_hedging_config(logged.hedging) == cfg
    assert as_hedging_config(SystemConfig().hedging) is None


def test_exposure_is_valued_through_fx_pivots() -> None:
    """BTC held against USD is worth BTC/USD x USD/JPY: 0.5 BTC at 100,000 USD and 150 JPY is
    7.5M JPY, past the 1M threshold, so the engine buys 0.5 BTC back."""
    s = _system()
    s.execute(SetFxRate("USD", "JPY", 150))
    s.execute(SetFxRate("BTC", "USD", 100_000))
    recs = _house_sells(s, 5_000)
    placed = [r for r in recs if isinstance(r, HedgeOrderPlaced)]
    assert [(p.side, p.qty, p.venue) for p in placed] == [(Side.BUY, 5_000, "EXTA")]
    assert "worth -7500000 JPY" in placed[0].reason


def test_without_any_price_hedging_halts_and_resumes_when_one_comes() -> None:
    """A position priced only in USD, with no USD/JPY rate, cannot be valued: an account event
    says so; the first rate lifts it and the hedge goes out."""
    s = _system()
    s.execute(SubmitOrder("client", "c", INST.id, Side.BUY, 5_000, price=10_000_000))
    s.execute(SubmitOrder("HOUSE", "h", INST.id, Side.SELL, 5_000, price=10_000_000))
    # The trade itself gives a USD price, but USD has no JPY rate yet: no value.
    halted = [e.record for e in s.store.read(1) if isinstance(e.record, HedgeHalted)]
    assert [h.reason for h in halted] == ["no price for BTC in JPY"]
    recs = s.execute(SetFxRate("USD", "JPY", 150)).records
    assert [type(r).__name__ for r in recs if isinstance(r, HedgeResumed | HedgeOrderPlaced)] == [
        "HedgeResumed",
        "HedgeOrderPlaced",
    ]


def test_a_resent_fill_counts_once_and_unknown_orders_are_refused() -> None:
    """A fill whose exec id was seen is ignored; a report for an unknown order is refused, logged."""
    s = _system()
    s.execute(SetFxRate("BTC", "JPY", 10_000_000))
    _house_sells(s, 5_000)
    hedger: Hedger = s.component(Hedger)
    s.execute(RecordHedgeFill("H1", 2_000, 10_000_000, "X-1"))
    s.execute(RecordHedgeFill("H1", 2_000, 10_000_000, "X-1"))
    assert hedger.position["BTC"] == -3_000 * 10_000
    out = s.execute(RecordHedgeFill("H9", 1, 1, "X-2")).records
    assert [type(r) for r in out] == [HedgeCommandRejected]


def test_a_fill_after_the_venue_went_down_still_counts() -> None:
    """An order given up on an outage may still have filled: the late fill moves the position and
    the engine sizes the next hedge from it."""
    raw = _cfg()
    raw["assets"]["BTC"]["venues"] = [ROUTE, {**ROUTE, "venue": "EXTB", "instrument": "EXTB:BTC/JPY"}]
    s = _system(raw)
    s.execute(SetFxRate("BTC", "JPY", 10_000_000))
    _house_sells(s, 5_000)
    down = s.execute(RecordVenueDown("EXTA", "gone")).records
    h2 = [r for r in down if isinstance(r, HedgeOrderPlaced)]
    assert [(p.order_id, p.venue, p.qty) for p in h2] == [("H2", "EXTB", 5_000)]
    s.execute(RecordHedgeFill("H1", 5_000, 10_000_000, "EXTA-late"))
    s.execute(RecordHedgeFill("H2", 5_000, 10_000_000, "EXTB-1"))
    hedger: Hedger = s.component(Hedger)
    # Over-hedged by the late fill: +0.5 BTC, worth 5M JPY, so the engine sells it back on EXTB.
    assert hedger.position["BTC"] == 5_000 * 10_000
    assert hedger.working["BTC"] == "H3" and hedger.orders["H3"].side is Side.SELL


def test_a_part_lot_is_taken_only_when_it_lands_inside_the_threshold() -> None:
    """Sizing rounds to whole lots toward the target, taking the extra lot when it stays inside."""
    raw = _cfg(target="0", threshold="1000")
    s = _system(raw)
    s.execute(SetFxRate("BTC", "JPY", 10_000_000))  # one lot (0.0001 BTC) is worth 1,000 JPY
    recs = _house_sells(s, 3)
    assert [p.qty for p in recs if isinstance(p, HedgeOrderPlaced)] == [3]
