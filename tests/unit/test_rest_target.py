"""The REST external target: its configuration and how what it publishes becomes mirror events."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.drivers.restreports import RestReports
from system.engine import CancelOrder, OrderAccepted, OrderRejected, RejectReason, Side, TradeExecuted
from system.engine.testkit import instrument
from system.gateways.fix.config import ConfigError
from system.oracle.resttarget import load_rest_target


def accepted(order_id: int, name: str, account: str, seq: int) -> dict[str, object]:
    return {
        "seq": seq, "type": "OrderAccepted", "time_ns": 5,
        "payload": {
            "order_id": order_id, "instrument": "XTKS:7203", "account": account, "client_order_id": name,
            "side": "BUY", "qty": 100, "order_type": "LIMIT", "price": 25000, "stop_price": None,
            "tif": "DAY", "expire_time": None, "post_only": False, "display_qty": 0, "stp": "NONE",
            "cross_currency": False, "time": 5,
        },
    }  # fmt: skip


def test_target_ids_and_accounts_become_the_scenarios() -> None:
    """The target's order ids become local ids in order of first appearance, its trade ids likewise,
    and its accounts the scenario's; an event about an order this run never placed is a problem."""
    inst = instrument()
    rr = RestReports({inst.id: inst}, accounts_back={"ACC1": "alice"})
    a = rr.local(accepted(907, "a1", "ACC1", 10))
    b = rr.local(accepted(311, "b1", "bob", 11))
    assert a is not None and b is not None
    ra, rb = a[0], b[0]
    assert isinstance(ra, OrderAccepted) and (ra.order_id, ra.account) == (1, "alice")
    assert isinstance(rb, OrderAccepted) and rb.order_id == 2 and rr.target_id(2) == 311
    trade = {
        "seq": 12, "type": "TradeExecuted", "time_ns": 6,
        "payload": {
            "trade_id": 77, "instrument": inst.id, "price": 25000, "qty": 100, "aggressor": "SELL",
            "buy_order_id": 907, "sell_order_id": 311, "buy_account": "ACC1", "sell_account": "bob",
            "resting_order_id": 907, "aggressor_order_id": 311, "time": 6,
        },
    }  # fmt: skip
    t = rr.local(trade)
    assert t is not None and t[1] == 6
    tr = t[0]
    assert isinstance(tr, TradeExecuted)
    assert (tr.trade_id, tr.buy_order_id, tr.sell_order_id, tr.buy_account) == (1, 1, 2, "alice")
    assert tr.aggressor is Side.SELL and rr.name_of(tr.resting_order_id) == "a1"
    stranger = dict(trade, payload={**trade["payload"], "sell_order_id": 5})  # type: ignore[dict-item]
    assert rr.local(stranger) is None and "names order 5" in rr.problems[0]
    assert rr.local({"seq": 13, "type": "LimitBreached", "payload": {}}) is None  # not folded


def test_a_refusal_is_the_rejection_it_states() -> None:
    """A problem+json answer naming a reason is that rejection; a 404 without one an unknown order."""
    inst = instrument()
    rr = RestReports({inst.id: inst})
    rr.local(accepted(9, "a1", "alice", 3))
    cancel = CancelOrder(account="alice", instrument=inst.id, order_id=1)
    r = rr.refused(
        "CancelOrder", cancel, 409, {"detail": "ORDER_CLOSED: order 9 is closed", "reason": "ORDER_CLOSED"}
    )
    assert isinstance(r, OrderRejected)
    assert (r.reason, r.text, r.order_id, r.client_order_id) == (
        RejectReason.ORDER_CLOSED,
        "order 9 is closed",
        1,
        "a1",
    )
    gone = rr.refused("CancelOrder", cancel, 404, {"detail": "no order 0 in the accounts you may see"})
    assert gone.reason is RejectReason.UNKNOWN_ORDER and gone.text.startswith("no order 0")


def test_the_target_file_and_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--target and --api-key win over the file; the key may come from the variable it names."""
    f = tmp_path / "acme.toml"
    f.write_text(
        '[target]\nexternal = true\nname = "acme"\nurl = "http://10.0.0.1:8080/"\napi_key_env = "ACME_KEY"\n'
        'control = "127.0.0.1:7001"\n[oracle]\nclock_skew_ms = 5\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("ACME_KEY", "k-from-env")
    cfg = load_rest_target(None, None, f)
    assert (cfg.name, cfg.url, cfg.host, cfg.port, cfg.api_key) == (
        "acme", "http://10.0.0.1:8080", "10.0.0.1", 8080, "k-from-env",
    )  # fmt: skip
    assert cfg.control == ("127.0.0.1", 7001) and cfg.tolerances.clock_skew_ns == 5_000_000
    assert len(cfg.sha256) == 64 and cfg.oracle is False
    over = load_rest_target("https://uat.acme.test", "k", f, oracle=True)
    assert (over.url, over.port, over.api_key, over.oracle) == ("https://uat.acme.test", 443, "k", True)
    bare = load_rest_target("http://127.0.0.1:9000", "k")
    assert bare.name == "http://127.0.0.1:9000" and bare.source == "" and bare.control is None


@pytest.mark.parametrize(
    ("url", "key", "text", "message"),
    [
        ("ftp://x", "k", None, "--target 'ftp://x' is not an http(s) URL"),
        ("http://x:99999", "k", None, "--target 'http://x:99999' is not an http(s) URL"),
        (None, "k", None, "no URL for the REST target"),
        ("http://x", None, None, "no API key for http://x: give --api-key KEY or set CHRONEX_API_KEY"),
        ("http://x", "k", "[target]\nexternal = false\n", "target.external: False"),
        ("http://x", "k", "[target]\nexternal = true\n[[session]]\n", "a REST target has no FIX sessions"),
        ("http://x", "k", "[target]\nexternal = true\n[oracle]\nclock_skew_ms = -1\n",
         "oracle.clock_skew_ms: -1 is not a non-negative number"),
    ],
)  # fmt: skip
def test_bad_targets_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str | None, key: str | None, text: str | None,
    message: str,
) -> None:  # fmt: skip
    """Each bad URL, missing key or bad file is one error naming the option or key and the value."""
    monkeypatch.delenv("CHRONEX_API_KEY", raising=False)
    f = None
    if text is not None:
        f = tmp_path / "t.toml"
        f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=None) as e:
        load_rest_target(url, key, f)
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("driver", "env", "tags", "skipped"),
    [
        ("rest", {}, {"needs-events", "needs-control", "account-in-request", "reference-only"}, None),
        ("rest", {"CHRONEX_REST_TARGET": "http://x"}, {"needs-events"}, None),
        ("rest", {"CHRONEX_REST_TARGET": "http://x"}, {"needs-control"}, "needs-control"),
        ("rest", {"CHRONEX_REST_TARGET_FILE": "CONTROL"}, {"needs-control"}, None),
        ("rest", {"CHRONEX_REST_TARGET_FILE": "NONE"}, {"needs-control"}, "needs-control"),
        ("rest", {"CHRONEX_REST_TARGET": "http://x"}, {"account-in-request"}, "account-in-request"),
        ("rest", {"CHRONEX_REST_TARGET_FILE": "CONTROL"}, {"reference-only"}, "reference-only"),
        ("fix", {"CHRONEX_EXTERNAL_SESSIONS": "CONTROL"}, {"needs-events"},
         "needs-events"),
        ("fix", {"CHRONEX_EXTERNAL_SESSIONS": "NONE"}, {"account-in-request"}, None),
        ("fix", {"CHRONEX_EXTERNAL_SESSIONS": "NONE"}, {"needs-control"}, "needs-control"),
        ("fix", {}, {"needs-events", "needs-control"}, None),
    ],
)  # fmt: skip
def test_which_scenarios_an_external_target_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str, env: dict[str, str], tags: set[str],
    skipped: str | None,
) -> None:  # fmt: skip
    """Only an external target skips: @reference-only always, @needs-control when its file names
    no control channel, @needs-events over FIX, @account-in-request over REST; the reason names
    the tag."""
    from steps.drivers import skip_reason

    files = {"CONTROL": 'control = "127.0.0.1:7001"\n', "NONE": ""}
    for k in ("CHRONEX_REST_TARGET", "CHRONEX_REST_TARGET_FILE", "CHRONEX_EXTERNAL_SESSIONS"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        if v in files:
            f = tmp_path / f"{v}.toml"
            f.write_text(f"[target]\nexternal = true\n{files[v]}", encoding="utf-8")
            v = str(f)
        monkeypatch.setenv(k, v)
    reason = skip_reason(driver, tags)
    assert (reason is None) == (skipped is None)
    if skipped is not None:
        assert reason is not None and f"@{skipped}" in reason


def test_the_shipped_example_loads() -> None:
    """config/rest-target.example.toml (docs/external.md's) names the mock with its control channel."""
    root = Path(__file__).resolve().parents[2]
    cfg = load_rest_target(None, "qa-admin-key", root / "config" / "rest-target.example.toml")
    assert (cfg.name, cfg.url, cfg.control) == (
        "mock-xtks-rest",
        "http://127.0.0.1:18080",
        ("127.0.0.1", 17001),
    )
