"""InfluxDB 1.x bars sink: the line protocol it writes (checked against a loopback receiver) and,
where an InfluxDB answers (CHRONEX_TEST_INFLUX_URL, default http://127.0.0.1:8086), the bars read
back equal the system's own bar projection, and a restarted sink rewrites them without doubling."""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from chronex.commands.serve import ServedWorld
from system.bootstrap import SystemConfig
from system.engine import SubmitOrder
from system.engine.orders import OrderType, Side
from system.engine.testkit import instrument
from system.eventlog import EventStore
from system.pricing.bars import BarProjection
from system.server.subscription import Subscription
from system.timeseries.influx import InfluxBars, write_url

T0 = 1_925_424_000 * 10**9  # 2031-01-06 09:00 JST
INST = "XTKS:7203"
INFLUX = os.environ.get("CHRONEX_TEST_INFLUX_URL", "http://127.0.0.1:8086")


@pytest.fixture(scope="module")
def day() -> Iterator[EventStore]:
    """Crossing orders over three minutes of virtual time: trades in three 1m bars."""
    world = ServedWorld(SystemConfig(instruments=(instrument(INST),)), start_ns=T0, sessions=False)
    for i in range(60):
        world.clock.set(T0 + i * 3 * 10**9)
        px = 28_000 + (i * 37 % 11) * 10
        for side, acc in ((Side.BUY, "A"), (Side.SELL, "B")):
            world.execute(
                SubmitOrder(account=acc, client_order_id=f"{acc}{i}", instrument=INST, side=side,
                            qty=100 + i, order_type=OrderType.LIMIT, price=px),
            )  # fmt: skip
    yield world.store
    world.close()


def _expected(store: EventStore) -> dict[tuple[str, int], tuple[int, ...]]:
    proj = BarProjection(("1m", "1h", "1d"))
    for ev in store.read(1):
        proj.handle(ev)
    return {
        (iv, b.start): (b.open, b.high, b.low, b.close, b.volume, b.trades)
        for iv in ("1m", "1h", "1d")
        for b in proj.bars(INST, iv)
    }


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        n = int(self.headers["Content-Length"])
        type(self).bodies.append((self.path, self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _parse(lines: list[str]) -> dict[tuple[str, int], tuple[int, ...]]:
    out = {}
    for line in lines:
        if not line.startswith("chronex_bar,"):
            continue
        head, fields, ts = line.split(" ")
        tags = dict(kv.split("=", 1) for kv in head.split(",")[1:])
        f = {k: int(v.rstrip("i")) for k, v in (kv.split("=") for kv in fields.split(","))}
        out[(tags["interval"], int(ts))] = (
            f["open"],
            f["high"],
            f["low"],
            f["close"],
            f["volume"],
            f["trades"],
        )
    return out


def test_line_protocol_holds_every_bar_of_the_projection(day: EventStore) -> None:
    """The sink's last write of each bar equals the bar the system's projection holds; one
    metrics point per instrument per batch; integers throughout; ns precision to the named db."""
    _Receiver.bodies = []
    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        sink = InfluxBars(f"http://127.0.0.1:{srv.server_port}/bars")
        Subscription(day, sink, max_batch=50).poll()
    finally:
        srv.shutdown()
        srv.server_close()
    assert sink.position() == day.head().seq
    paths = {p for p, _ in _Receiver.bodies}
    assert paths == {"/write?db=bars&precision=ns"}
    lines = [ln for _, body in _Receiver.bodies for ln in body.decode().splitlines()]
    assert _parse(lines) == _expected(day)  # later writes of a bar replace earlier ones
    metrics = [ln for ln in lines if ln.startswith("chronex_instrument,")]
    assert metrics and all(f"instrument={INST} " in ln and "volume=" in ln for ln in metrics)


def test_bad_urls_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="names no database"):
        write_url("http://127.0.0.1:8086")
    with pytest.raises(ValueError, match="not an InfluxDB URL"):
        write_url("influx://x/db")
    assert write_url("http://h:8086/?db=x") == "http://h:8086/write?db=x&precision=ns"


def _influx() -> str:
    try:
        with urllib.request.urlopen(f"{INFLUX}/ping", timeout=2) as r:
            r.read()
    except OSError:
        pytest.skip(f"InfluxDB not reachable: set CHRONEX_TEST_INFLUX_URL=http://host:8086 (tried {INFLUX})")
    return INFLUX


def _query(base: str, q: str, db: str | None = None) -> Any:
    params = {"q": q, **({"db": db} if db else {})}
    req = urllib.request.Request(f"{base}/query", data=urllib.parse.urlencode(params).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_bars_read_back_from_influxdb_and_a_restart_doubles_nothing(day: EventStore) -> None:
    """Against a real InfluxDB 1.x: SELECT gives the projection's bars; a second sink folding the
    log again from seq 1 (a restart) leaves the same points."""
    base = _influx()
    db = f"chronex_t{uuid.uuid4().hex[:10]}"
    _query(base, f'CREATE DATABASE "{db}"')
    try:
        for _ in range(2):
            Subscription(day, InfluxBars(f"{base}/{db}"), max_batch=40).poll()
            res = _query(
                base,
                'SELECT "interval", "open", "high", "low", "close", "volume", "trades" FROM chronex_bar',
                db,
            )
            series = res["results"][0]["series"][0]
            got = {}
            for row in series["values"]:
                ts = datetime.fromisoformat(row[0].replace("Z", "+00:00"))
                ns = int(ts.timestamp()) * 10**9
                got[(row[1], ns)] = tuple(int(v) for v in row[2:])
            assert got == _expected(day)
    finally:
        _query(base, f'DROP DATABASE "{db}"')
