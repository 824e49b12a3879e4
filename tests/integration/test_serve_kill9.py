"""kill -9 of `chronex serve` under FIX load, then a restart over the same log (SQLite and
PostgreSQL): every order an ExecutionReport was sent for is in the log, no fill is duplicated, the
restarted server's state equals a fold of the log, its FIX sequence numbers continue, and a
ResendRequest after the restart is served from the stored messages."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from sim.replay import recorded_config
from system.bootstrap import build_components
from system.clock import FixedClock
from system.engine import MatchingEngine, OrderAccepted, TradeExecuted
from system.eventlog import open_log, verify
from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.config import parse_sessions
from system.gateways.fix.mapping import chronex_dictionary
from system.runtime import rebuild
from system.server.admin import AdminClient
from system.server.process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "LOAD"
accounts = ["A", "B"]
sending_time_tolerance_s = 0
"""


class Client:
    def __init__(self) -> None:
        self.got: list[FixMessage] = []

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.got.append(msg)


def _serve(tmp: Path, log: str) -> ServeProcess:
    return ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", log,
         "--snapshot-every", "25",  # the restart warm-starts from a snapshot and folds a tail
         "--fix-port", "0", "--sessions", str(tmp / "sessions.toml"), "--start", "2031-01-06T10:00+09:00",
         "--fix-store", f"file:{tmp / 'server-fix'}"],
        cwd=ROOT,
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "day.db")
    make: Callable[[], str] = request.getfixturevalue("pg_log_url")
    return make()


def _folded_state(log: str) -> tuple[bytes, bytes]:
    """The book and open orders a fresh fold of the log gives (what a restart must equal)."""
    store = open_log(log, FixedClock(0), create=False)
    try:
        cfg = recorded_config(store)
        comps = rebuild(store, lambda: build_components(cfg), snapshots=False)
    finally:
        store.close()
    eng = next(c for c in comps if isinstance(c, MatchingEngine))
    enc = msgspec.msgpack.encode
    return enc(eng.book("XTKS:7203")), enc(sorted(eng.open_orders(None, None), key=lambda o: o.order_id))


def _initiator(tmp: Path, client: Client, port: int) -> FixInitiator:
    ours = parse_sessions(
        {"session": [{"sender_comp_id": "LOAD", "target_comp_id": "CHRONEX", "sending_time_tolerance_s": 0}]}
    ).sessions[0]
    return FixInitiator(
        ours, client, FixedClock(1_925_434_800 * 10**9), store_factory(f"file:{tmp / 'client'}"),
        host="127.0.0.1", port=port, dictionary=chronex_dictionary(),
    )  # fmt: skip


def _order(i: int) -> list[tuple[int, str | bytes | int]]:
    side, account = ("1", "A") if i % 2 == 0 else ("2", "B")
    return [(11, f"o{i}"), (1, account), (55, "XTKS:7203"), (54, side), (60, "20310106-01:00:00"),
            (38, "200" if side == "1" else "100"), (40, "2"), (44, "2500")]  # fmt: skip


def test_kill_9_under_load_loses_no_reported_order_and_duplicates_no_fill(
    tmp_path: Path, log_url: str
) -> None:
    (tmp_path / "sessions.toml").write_text(SESSIONS, encoding="utf-8")
    srv = _serve(tmp_path, log_url)
    before = Client()

    async def load() -> None:
        ini = _initiator(tmp_path, before, srv.fix_port)
        session = await ini.connect(reset=True)
        i = 0
        for _ in range(3000):  # bursts until 300 reports are back (at most ~30 s)
            for _ in range(20):
                session.send("D", _order(i))
                i += 1
            await asyncio.sleep(0.01)
            if len(before.got) >= 300:
                break
        for _ in range(50):  # orders still in flight when the process dies
            session.send("D", _order(i))
            i += 1
        srv.kill()  # SIGKILL mid-load: no shutdown path runs
        await asyncio.sleep(0.2)
        await ini.stop(timeout_s=0.2)

    asyncio.run(load())
    reported = {m.get_str(11) for m in before.got if m.msg_type == "8" and m.get(150) == b"0"}
    fills_sent = [m.get_str(17) for m in before.got if m.msg_type == "8" and m.get(150) == b"F"]
    max_seq = max(int(m.get(34) or 0) for m in before.got)
    assert len(reported) >= 100

    log = open_log(log_url, FixedClock(0), create=False)
    try:
        assert verify(log).ok
        accepted = [e.record.client_order_id for e in log.read(1) if isinstance(e.record, OrderAccepted)]
        trades = [e.record for e in log.read(1) if isinstance(e.record, TradeExecuted)]
        head_at_kill = log.head()
    finally:
        log.close()
    assert reported <= set(accepted), "an order was reported to the client but is not in the log"
    assert len(accepted) == len(set(accepted))
    assert len({t.trade_id for t in trades}) == len(trades)
    assert len(fills_sent) == len(set(fills_sent)) and len(fills_sent) <= 2 * len(trades)

    # Restart over the same log and FIX store: it appends nothing and holds the log's state.
    srv = _serve(tmp_path, log_url)
    assert srv.info["seq"] == head_at_kill.seq
    book, open_orders = _folded_state(log_url)
    admin = AdminClient("127.0.0.1", srv.admin_port)
    try:
        served_open = sorted(admin.open_orders(), key=lambda o: o.order_id)
        assert msgspec.msgpack.encode(admin.book("XTKS:7203")) == book
        assert msgspec.msgpack.encode(served_open) == open_orders
        assert served_open, "buys for 200 against sells for 100 leave resting bids"
    finally:
        admin.close()
    # Make the client ask for everything again.
    after = Client()
    ours = parse_sessions(
        {"session": [{"sender_comp_id": "LOAD", "target_comp_id": "CHRONEX", "sending_time_tolerance_s": 0}]}
    ).sessions[0]
    store = store_factory(f"file:{tmp_path / 'client'}")(ours)
    store.set_next_target_seq(1)
    store.close()

    async def resume() -> None:
        ini = _initiator(tmp_path, after, srv.fix_port)
        session = await ini.connect()
        for _ in range(500):
            if any(m.get(43) == b"Y" for m in after.got):
                break
            await asyncio.sleep(0.01)
        session.send("D", _order(100_000))
        for _ in range(500):
            if any(m.get_str(11) == "o100000" for m in after.got):
                break
            await asyncio.sleep(0.01)
        await ini.stop()

    try:
        asyncio.run(resume())
    finally:
        assert srv.terminate() == 0
    resent = [m for m in after.got if m.get(43) == b"Y"]
    assert resent, "the ResendRequest after the restart served no stored message"
    assert {m.get_str(17) for m in resent if m.get(150) == b"F"} >= set(fills_sent)
    fresh = next(m for m in after.got if m.get_str(11) == "o100000" and m.get(43) != b"Y")
    assert int(fresh.get(34) or 0) > max_seq, "the server's sequence numbers started again"

    log = open_log(log_url, FixedClock(0), create=False)
    try:
        accepted = [e.record.client_order_id for e in log.read(1) if isinstance(e.record, OrderAccepted)]
        trades = [e.record for e in log.read(1) if isinstance(e.record, TradeExecuted)]
    finally:
        log.close()
    dup = [k for k, n in Counter(accepted).items() if n > 1]
    assert not dup, f"orders accepted twice after the restart: {dup[:5]}"
    assert len({(t.buy_order_id, t.sell_order_id) for t in trades}) == len(trades)
