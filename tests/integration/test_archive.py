"""The live archive: PostgreSQL tables that agree with the log (counts and sums), survive kill -9
exactly once, follow the log within a second, and refuse a second archiver or another log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from chronex.commands.archive import VenueTradeDates
from sim.replay.synthetic import Flow, continuous_windows, day_config, tokyo
from sim.world import World
from system.archive.postgres import PostgresArchive
from system.clock import FixedClock
from system.corrections import BustTrade, CorrectTrade, ReportLateTrade
from system.engine import TradeExecuted
from system.eventlog import EventLogError, EventStore, LogLocked, open_log
from system.eventlog.postgres import split_url
from system.risk import RiskConfig
from system.risk.events import EngageKillSwitch
from system.server.subscription import Subscription

DAY = date(2027, 1, 6)


def build_day(path: Path, commands: int = 3000) -> str:
    """A TSE day of ``commands`` orders with a kill switch, a bust, a correction and a late trade."""
    cfg = day_config(seed=4, risk=RiskConfig())
    world = World(cfg, start_ns=tokyo(DAY, 8), until_ns=tokyo(DAY, 16), log=str(path))
    flow = Flow(4, cfg.instruments, continuous_windows(DAY), mean_gap_ns=2_000_000_000)
    for i, (t, cmd) in enumerate(flow.commands(commands)):
        world.run_until(t)
        world.execute(cmd)
        if i == commands // 2:
            world.execute(EngageKillSwitch(account="ACC-3", reason="test"))
    world.run_until(tokyo(DAY, 15, 40))
    trades = [e.record for e in world.store.read(1) if isinstance(e.record, TradeExecuted)]
    assert len(trades) > 20
    world.execute(BustTrade(trade_id=trades[3].trade_id, reason="erroneous"))
    t = trades[7]
    world.execute(CorrectTrade(trade_id=t.trade_id, price=t.price + 1, qty=t.qty, reason="fat finger"))
    world.execute(
        ReportLateTrade(
            instrument=t.instrument, price=t.price, qty=100, buy_account="ACC-1", sell_account="ACC-2",
            trade_time=tokyo(DAY, 10), reason="phone trade",
        )
    )  # fmt: skip
    world.run_until(tokyo(DAY, 16))
    world.close()
    return str(path)


@pytest.fixture(scope="module")
def day_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_day(tmp_path_factory.mktemp("archive") / "day.db")


def expected(store: EventStore) -> dict[str, Any]:
    """What the archive must hold, computed straight from the log."""
    kinds = Counter(e.type for e in store.read())
    pos: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    trade_qty = 0
    for e in store.read():
        r: Any = e.record
        sign = {"TradeExecuted": 1, "LateTradeReported": 1, "TradeBusted": -1}.get(e.type)
        if sign is not None:
            pos[(r.buy_account, r.instrument)][0] += sign * r.qty
            pos[(r.sell_account, r.instrument)][1] += sign * r.qty
        if e.type == "TradeCorrected":
            for q, s in ((r.old_qty, -1), (r.qty, 1)):
                pos[(r.buy_account, r.instrument)][0] += s * q
                pos[(r.sell_account, r.instrument)][1] += s * q
        if e.type == "TradeExecuted":
            trade_qty += r.qty
    accounts = sum(1 for e in store.read() if e.stream.startswith("account/"))
    return {
        "orders": kinds["OrderAccepted"],
        "trades": kinds["TradeExecuted"] + kinds["LateTradeReported"],
        "trade_qty": trade_qty,
        "busted": kinds["TradeBusted"],
        "executions": kinds["OrderAccepted"] + 2 * kinds["TradeExecuted"] + kinds["OrderCancelled"]
        + kinds["OrderExpired"] + kinds["OrderReplaced"] + kinds["OrderRejected"] + kinds["OrderReduced"]
        + kinds["StopTriggered"],
        "account_events": accounts,
        "positions": {k: v for k, v in pos.items() if v != [0, 0]},
        "head": store.head().seq,
    }  # fmt: skip


def archived(url: str) -> dict[str, Any]:
    conninfo, schema = split_url(url, "chronex_archive")
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as db:

        def one(q: str) -> Any:
            row = db.execute(q).fetchone()
            assert row is not None
            return row[0]

        pos = {
            (a, i): [int(b), int(s)]
            for a, i, b, s in db.execute(
                "SELECT account, instrument, sum(bought), sum(sold) FROM positions GROUP BY 1, 2"
            )
        }
        return {
            "orders": one("SELECT count(*) FROM orders"),
            "trades": one("SELECT count(*) FROM trades"),
            "trade_qty": one("SELECT sum(qty) FROM trades WHERE source = 'engine' AND status <> 'CORRECTED'")
            + one("SELECT sum(qty) FROM executions WHERE exec_type = 'TRADE' AND leg = 0 AND trade_id IN "
                  "(SELECT trade_id FROM trades WHERE status = 'CORRECTED')"),
            "busted": one("SELECT count(*) FROM trades WHERE status = 'BUSTED'"),
            "executions": one("SELECT count(*) FROM executions"),
            "account_events": one("SELECT count(*) FROM account_events"),
            "positions": {k: v for k, v in pos.items() if v != [0, 0]},
            "head": one("SELECT seq FROM archive_position"),
        }  # fmt: skip


def tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every archive table's rows, sorted: two archives of one log must be equal row for row."""
    conninfo, schema = split_url(url)
    out = {}
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as db:
        for t in ("orders", "executions", "trades", "positions", "account_events"):
            out[t] = sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
    return out


CLI = "import sys; from chronex.cli import main; sys.exit(main(sys.argv[1:]))"


def archive_once(log: str, url: str, batch: int = 1000) -> None:
    with open_log(log, FixedClock(0), create=False) as store:
        arch = PostgresArchive(url, store, VenueTradeDates())
        try:
            Subscription(store, arch, max_batch=batch).poll()
        finally:
            arch.close()


def test_archive_agrees_with_the_log(day_log: str, pg_log_url: Callable[[], str]) -> None:
    """Row counts and sums of the archive tables equal what the log says, busts and corrections
    included, and every row is partitioned under the day's trade date."""
    url = pg_log_url()
    archive_once(day_log, url)
    with open_log(day_log, FixedClock(0), create=False) as store:
        want = expected(store)
    got = archived(url)
    assert want["busted"] == 1 and want["account_events"] > 0 and want["orders"] > 1000
    assert got == want
    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo) as db:
        parts = {r[0] for r in db.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relispartition", (schema,))}  # fmt: skip
        dates = db.execute(f"SELECT DISTINCT trade_date FROM {schema}.trades").fetchall()
    assert dates == [(DAY,)]
    names = ("orders", "executions", "trades", "positions", "account_events")
    assert {f"{t}_20270106" for t in names} <= parts


def test_kill_9_mid_day_then_restart_gives_the_same_archive(
    day_log: str, pg_log_url: Callable[[], str]
) -> None:
    """`chronex archive` killed with SIGKILL partway, then restarted: its tables equal those of an
    archive made in one go, and the log's counts and sums."""
    url, clean = pg_log_url(), pg_log_url()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-c", CLI, "archive", "--from", day_log, "--to", url, "--batch", "50",
           "--quiet"]  # fmt: skip
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conninfo, schema = split_url(url)
    head = expected_head(day_log)
    try:
        pos = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pos = position(conninfo, schema)
            if pos > head // 3:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert child.returncode == -signal.SIGKILL
    killed_at = position(conninfo, schema)
    assert 0 < killed_at < head, "the archiver was not killed mid-way"
    rc = subprocess.run([*cmd, "--once"], env=env, capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr
    archive_once(day_log, clean, batch=5000)
    assert tables(url) == tables(clean)
    with open_log(day_log, FixedClock(0), create=False) as store:
        assert archived(url) == expected(store)


def expected_head(log: str) -> int:
    with open_log(log, FixedClock(0), create=False) as store:
        return store.head().seq


def position(conninfo: str, schema: str) -> int:
    with psycopg.connect(conninfo) as db:
        try:
            row = db.execute(f"SELECT seq FROM {schema}.archive_position").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


@pytest.fixture
def live_log(tmp_path: Path) -> Iterator[EventStore]:
    store = open_log(tmp_path / "live.db", FixedClock(0))
    yield store
    store.close()


def test_archive_follows_the_log_within_a_second(
    day_log: str, pg_log_url: Callable[[], str], live_log: EventStore
) -> None:
    """An in-process archive following a growing log is at the head within a second of each append."""
    src = open_log(day_log, FixedClock(0), create=False)
    url = pg_log_url()
    arch = PostgresArchive(url, live_log, VenueTradeDates())
    stop = threading.Event()
    follower = threading.Thread(target=Subscription(live_log, arch).follow, args=(stop,), daemon=True)
    follower.start()
    try:
        entries = list(src.read())
        lags = []
        for i in range(0, len(entries), 500):
            # Copy the day over in chunks, as the sequencer would append it.
            from system.eventlog import NewEvent

            chunk = entries[i : i + 500]
            live_log.clock = FixedClock(chunk[0].recorded_time)
            live_log.append([NewEvent(e.record, e.valid_time, e.correlation_id, e.causation_id, e.stream)
                             for e in chunk])  # fmt: skip
            t0 = time.monotonic()
            head = live_log.head().seq
            while arch.position() < head:
                assert time.monotonic() - t0 < 5, "the archive fell behind"
                time.sleep(0.005)
            lags.append(time.monotonic() - t0)
        lags.sort()
        assert lags[len(lags) // 2] < 1.0, lags
    finally:
        stop.set()
        follower.join(10)
        arch.close()
        src.close()
    assert archived(url)["orders"] == expected_head_orders(day_log)


def expected_head_orders(log: str) -> int:
    with open_log(log, FixedClock(0), create=False) as store:
        return sum(1 for e in store.read() if e.type == "OrderAccepted")


def test_a_second_archiver_and_another_log_are_refused(
    day_log: str, pg_log_url: Callable[[], str], live_log: EventStore
) -> None:
    """While one archiver writes a schema a second is refused naming it; an archive filled from
    one log is not continued from another."""
    url = pg_log_url()
    with open_log(day_log, FixedClock(0), create=False) as store:
        first = PostgresArchive(url, store, VenueTradeDates())
        with pytest.raises(LogLocked, match="another archiver"):
            PostgresArchive(url, store, VenueTradeDates())
        Subscription(store, first, max_batch=2000).poll()
        first.close()
    with pytest.raises(EventLogError, match="another log"):
        PostgresArchive(url, live_log, VenueTradeDates())
    # Under another position name it would copy rows whose order ids collide with the first
    # log's: refused at the start, naming the log the schema holds, and nothing is written.
    with pytest.raises(EventLogError, match=r"already archives .*name 'archive'.*one schema holds one log"):
        PostgresArchive(url, live_log, VenueTradeDates(), name="second")
    with open_log(day_log, FixedClock(0), create=False) as store:
        again = PostgresArchive(url, store, VenueTradeDates())  # the first log still continues
        assert again.position() == store.head().seq
        again.close()
