"""`chronex serve --archive ... --redis ...`: the service subscribers attached through the
subscription seam follow a served venue live, show in `--status`, and resume from their own
positions after a restart (nothing missed, nothing written twice)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from system.clock import FixedClock
from system.engine import OrderAccepted, SubmitOrder, TradeExecuted
from system.engine.orders import OrderType, Side
from system.eventlog import open_log
from system.eventlog.postgres import split_url
from system.server.admin import AdminClient
from system.server.process import ServeProcess
from tests.services import SERVICES, resolve, skip_reason

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = resolve("redis") or SERVICES["redis"].default


def _redis() -> Any:
    redis = pytest.importorskip("redis")
    r = redis.Redis.from_url(REDIS_URL)
    try:
        r.ping()
    except Exception:
        pytest.skip(skip_reason("redis"))
    return r


def _serve(tmp: Path, *extra: str) -> ServeProcess:
    return ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(tmp / "day.db"),
         "--start", "2031-01-06T10:00+09:00", *extra],
        cwd=ROOT,
    )  # fmt: skip


def _orders(admin: AdminClient, first: int, n: int) -> None:
    for i in range(first, first + n):
        side, acc = (Side.BUY, "A") if i % 2 == 0 else (Side.SELL, "B")
        cmd = SubmitOrder(account=acc, client_order_id=f"o{i}", instrument="XTKS:7203", side=side, qty=100,
                          order_type=OrderType.LIMIT, price=28_000 + (i % 3) * 10)  # fmt: skip
        admin.execute(cmd, session="QA", id=f"o{i}")


def _log_counts(path: Path) -> tuple[int, int, int]:
    log = open_log(path, FixedClock(0), create=False)
    try:
        evs = list(log.read(1))
    finally:
        log.close()
    return (
        sum(isinstance(e.record, OrderAccepted) for e in evs),
        sum(isinstance(e.record, TradeExecuted) for e in evs),
        evs[-1].seq,
    )


def _archive_counts(url: str) -> tuple[int, int, int]:
    conninfo, schema = split_url(url, "chronex_archive")
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as db:
        try:
            o = db.execute("SELECT count(*), count(DISTINCT order_id) FROM orders").fetchone()
            t = db.execute("SELECT count(*) FROM trades").fetchone()
            p = db.execute("SELECT seq FROM archive_position").fetchone()
        except psycopg.errors.UndefinedTable:
            return (0, 0, 0)
    assert o is not None and t is not None
    assert o[0] == o[1], "an order archived twice"
    return int(o[0]), int(t[0]), int(p[0]) if p else 0


def _until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_serve_feeds_archive_and_redis_live_and_resumes_after_a_restart(
    tmp_path: Path, pg_log_url: Callable[[], str]
) -> None:
    """Orders through a served venue reach the archive and the Redis read models within a
    second; after a restart (SIGTERM, then kill -9) both continue from their own positions."""
    r = _redis()
    archive = pg_log_url()
    ns = f"t{uuid.uuid4().hex[:10]}"
    redis_url = f"{REDIS_URL}?namespace={ns}"
    flags = ("--admin-port", "0", "--archive", archive, "--redis", redis_url)
    try:
        srv = _serve(tmp_path, *flags)
        admin = AdminClient("127.0.0.1", srv.admin_port)
        _orders(admin, 0, 40)
        head = _log_counts(tmp_path / "day.db")
        t0 = time.monotonic()
        _until(lambda: _archive_counts(archive) == head)
        assert time.monotonic() - t0 < 2.0
        _until(lambda: int(r.get(f"{ns}:position") or 0) == head[2])
        st = admin.call("status")
        subs = {s["name"]: s for s in st["subscribers"]}
        assert {"router", "archive", "redis-cache"} <= set(subs)
        assert subs["archive"]["lag"] == 0 and subs["archive"]["error"] is None and subs["archive"]["thread"]
        admin.close()
        assert srv.terminate() == 0

        srv = _serve(tmp_path, *flags)  # graceful restart: both resume
        admin = AdminClient("127.0.0.1", srv.admin_port)
        _orders(admin, 40, 30)
        head = _log_counts(tmp_path / "day.db")
        _until(lambda: _archive_counts(archive) == head)
        admin.close()
        srv.kill()  # the crash path: whatever was not archived is archived after the restart

        srv = _serve(tmp_path, *flags)
        admin = AdminClient("127.0.0.1", srv.admin_port)
        _orders(admin, 70, 10)
        head = _log_counts(tmp_path / "day.db")
        _until(lambda: _archive_counts(archive) == head)
        _until(lambda: int(r.get(f"{ns}:position") or 0) == head[2])
        out = subprocess.run(
            [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--status", "--json",
             "--admin-port", str(srv.admin_port)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert '"archive"' in out.stdout and '"redis-cache"' in out.stdout
        admin.close()
        assert srv.terminate() == 0
        assert head[0] == 80
    finally:
        for k in r.scan_iter(f"{ns}:*"):
            r.delete(k)


@pytest.mark.parametrize(
    ("flag", "url"),
    [
        ("--archive", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2"),
        ("--nats", "nats://127.0.0.1:1"),
        ("--redis", "redis://127.0.0.1:1"),
        ("--influx", "http://127.0.0.1:1/chronex"),
    ],
)
def test_a_subscriber_service_that_does_not_answer_is_a_one_line_error(
    tmp_path: Path, flag: str, url: str
) -> None:
    """A service that does not answer at start-up stops serve with exit code 2 and one line
    naming the flag (no client library's tracebacks), and the log that start created is gone."""
    out = subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--no-calendar",
         "--log", str(tmp_path / "day.db"), flag, url],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()], out.stderr
    assert flag in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_status_without_a_server_is_a_one_line_error() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--status",
         "--admin-port", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "no chronex serve answers" in out.stderr and "Traceback" not in out.stderr


def test_a_second_server_on_a_postgresql_log_is_refused_at_start(pg_log_url: Callable[[], str]) -> None:
    """The PostgreSQL log's writer lock is taken when serve starts, not at its first append: a
    second `chronex serve` on a log another one serves stops at once, exit 2, one line."""
    url = pg_log_url()
    first = ServeProcess(["--venue", "XTKS", "--instruments", "7203", "--log", url], cwd=ROOT)
    try:
        out = subprocess.run(
            [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", "--venue", "XTKS",
             "--instruments", "7203", "--log", url],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 2, out.stderr
        assert "is being served by another process" in out.stderr and "Traceback" not in out.stderr
    finally:
        assert first.terminate() == 0
