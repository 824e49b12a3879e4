"""Redis read models: equal to folding the log, readable from another process, never half an
update, and rebuilt from the log after a flush."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from sim.markets import simulated_day
from system.clock import from_datetime
from system.engine.marketdata import MarketData
from system.eventlog import EventStore
from system.server.subscription import Subscription
from tests.services import SERVICES, resolve, skip_reason

redis = pytest.importorskip("redis")
URL = resolve("redis") or SERVICES["redis"].default


@pytest.fixture
def ns() -> Iterator[str]:
    """A namespace of its own (the server is shared): its keys are deleted afterwards."""
    try:
        r = redis.Redis.from_url(URL, socket_connect_timeout=2)
        r.ping()
    except redis.RedisError:
        pytest.skip(skip_reason("redis"))
    name = f"chronex-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield name
    flush(r, name)
    r.close()


def flush(r: object, ns: str) -> None:
    """What FLUSHALL does to this namespace (a shared server must not be flushed by a test)."""
    keys = list(r.scan_iter(f"{ns}:*", count=1000))  # type: ignore[attr-defined]
    for i in range(0, len(keys), 500):
        r.delete(*keys[i : i + 500])  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def day() -> Iterator[EventStore]:
    tokyo = ZoneInfo("Asia/Tokyo")
    d0 = date(2027, 1, 4)
    start = from_datetime(datetime.combine(d0, time(8, 58), tzinfo=tokyo))
    d = simulated_day("XTKS", d0, instruments=["7203", "9432"], seed=2, log="memory://",
                      start_ns=start, until_ns=start + 10 * 60 * 10**9)  # fmt: skip
    d.run()
    d.world.runtime.flush()
    yield d.world.store
    d.close()


def expected(store: EventStore) -> dict[str, object]:
    md = MarketData()
    net: dict[tuple[str, str], int] = {}
    for ev in store.read():
        md.handle(ev)
        if ev.type == "TradeExecuted":
            r: Any = ev.record
            net[(r.buy_account, r.instrument)] = net.get((r.buy_account, r.instrument), 0) + r.qty
            net[(r.sell_account, r.instrument)] = net.get((r.sell_account, r.instrument), 0) - r.qty
    out: dict[str, object] = {f"bbo:{i}": msgspec.to_builtins(md.bbo(i)) for i in md.instruments()}
    for (a, i), q in net.items():
        out[f"position:{a}:{i}"] = q
    return out


def cached(ns: str) -> tuple[int, dict[str, object]]:
    from system.cache.redis import RedisReader

    reader = RedisReader(URL, namespace=ns)
    try:
        pos, snap = reader.snapshot()
    finally:
        reader.close()
    out: dict[str, object] = {k: v for k, v in snap.items() if k.startswith("bbo:")}
    for k, v in snap.items():
        if k.startswith("position:"):
            out[k] = v["net"]  # type: ignore[index]
    return pos, out


def test_read_models_equal_the_fold_of_the_log_and_another_process_reads_them(
    day: EventStore, ns: str
) -> None:
    """After following the log, Redis holds each instrument, its top of book and every position as
    a fold of the log gives them, and a reader in another process sees the same."""
    from system.cache.redis import RedisReadModels

    w = RedisReadModels(URL, namespace=ns)
    Subscription(day, w, max_batch=300).poll()
    pos, got = cached(ns)
    assert pos == day.head().seq
    want = expected(day)
    assert got == want and len(want) > 3
    root = Path(__file__).resolve().parents[2]
    code = ("import json, sys; from system.cache.redis import RedisReader; "
            "print(json.dumps(RedisReader(sys.argv[1], namespace=sys.argv[2]).snapshot()))")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code, URL, ns], capture_output=True, text=True, timeout=60, env=env, check=True
    )
    other_pos, other = json.loads(out.stdout)
    assert other_pos == pos and other["instrument:XTKS:7203"]["id"] == "XTKS:7203"
    assert {k: v for k, v in other.items() if k.startswith("bbo:")} == {
        k: v for k, v in want.items() if k.startswith("bbo:")
    }
    w.close()


def test_a_reader_never_sees_half_an_update(day: EventStore, ns: str) -> None:
    """While the writer applies batches, every snapshot a reader takes is one version: the
    positions of each instrument sum to zero (both sides of each trade, or neither)."""
    from system.cache.redis import RedisReadModels

    w = RedisReadModels(URL, namespace=ns)
    stop = threading.Event()
    seen: list[int] = []
    bad: list[str] = []

    def read() -> None:
        while not stop.is_set():
            pos, snap = cached(ns)
            sums: dict[str, int] = {}
            for k, v in snap.items():
                if k.startswith("position:"):
                    inst = k.rsplit(":", 2)[-2] + ":" + k.rsplit(":", 1)[-1]
                    sums[inst] = sums.get(inst, 0) + int(v)  # type: ignore[call-overload]
            if any(sums.values()):
                bad.append(f"at {pos}: {sums}")
            seen.append(pos)

    t = threading.Thread(target=read)
    t.start()
    try:
        Subscription(day, w, max_batch=7).poll()
    finally:
        stop.set()
        t.join(30)
        w.close()
    assert not bad, bad[:3]
    assert len(set(seen)) > 5  # the reader really read between the writer's batches


def test_a_flush_is_rebuilt_from_the_log(day: EventStore, ns: str) -> None:
    """After Redis loses everything the writer starts again from seq 1 and ends where it was."""
    from system.cache.redis import RedisReadModels

    w = RedisReadModels(URL, namespace=ns)
    sub = Subscription(day, w, max_batch=500)
    sub.poll()
    before = cached(ns)
    flush(w.r, ns)
    assert cached(ns) == (0, {})
    assert w.position() == 0
    assert sub.poll() == day.head().seq
    assert cached(ns) == before
    w.close()


def test_venue_profile_and_calendar_are_cached_under_versioned_keys(day: EventStore, ns: str) -> None:
    """With the composition root's reference data, a listed venue's profile and its calendar
    (XTKS: the 15:30 close, the lunch break) are read back like any other model, and come back
    after a flush."""
    from chronex.serving import venue_reference
    from system.cache.redis import RedisReader, RedisReadModels

    models = RedisReadModels(URL, namespace=ns, reference=venue_reference)
    Subscription(day, models).poll()
    reader = RedisReader(URL, namespace=ns)
    try:
        venue = reader.get("venue:XTKS")
        assert venue["calendar"] == "XTKS" and "XTKS:7203" in venue["instruments"]
        cal = reader.get("calendar:XTKS")
        assert cal["tz"] == "Asia/Tokyo" and cal["from"] == "2027-01-04"
        first = cal["sessions"][0]
        assert first["trade_date"] == "2027-01-04" and first["breaks"]  # the lunch break
        close = datetime.fromtimestamp(first["close"] / 1e9, ZoneInfo("Asia/Tokyo"))
        assert (close.hour, close.minute) == (15, 30)
        version, snap = reader.snapshot("calendar:")
        assert version == day.head().seq and set(snap) == {"calendar:XTKS"}
        flush(models.r, ns)
        Subscription(day, models).poll()  # position gone: rebuilt from the log
        assert reader.get("calendar:XTKS") == cal
    finally:
        reader.close()
        models.close()
