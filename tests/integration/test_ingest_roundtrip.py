"""Ingest round trips against real FIX traffic.

1. QuickFIX (quickfix-py) as initiator AND acceptor: a QuickFIX client trades with a QuickFIX
   acceptor (the "venue") whose application forwards every order to `chronex serve` over a third
   QuickFIX session and relays the answers back. So the venue's message log is written by QuickFIX's
   own FileLog, its reports come from Chronex's rules, and the log ingested, re-run and diffed shows
   zero differences.
2. A served day captured with tshark on loopback: the pcap ingested gives the same orders, in the
   same order, as the server's own log, and the same ITCH messages its SoupBinTCP feed sent.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import dpkt
import msgspec
import pytest

from system.clock import FixedClock
from system.engine import CancelOrder, ReplaceOrder, SubmitOrder
from system.eventlog import open_log
from system.gateways.itch.soup import SoupClient
from system.ingest import FixObserved, IngestedSource, ItchObserved
from system.server.process import ServeProcess
from tests import cli
from tests.integration.quickfix_kit import DICTIONARY, fix, order

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "QF1"
accounts = ["ACC1"]
sending_time_tolerance_s = 0
"""
START = "2031-01-06T10:00+09:00"


def _chronex(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, timeout=300)


class App(fix.Application):  # type: ignore[misc]
    """A QuickFIX application that remembers its sessions and queues application messages."""

    def __init__(self) -> None:
        super().__init__()
        self.logged_on = threading.Event()
        self.sessions: dict[str, Any] = {}
        self.app: queue.Queue[Any] = queue.Queue()
        self.forward: Any = None  # (message, session id) -> None: set on the proxy

    def onCreate(self, session_id: Any) -> None:
        self.sessions[session_id.getTargetCompID().getValue()] = session_id

    def onLogon(self, session_id: Any) -> None:
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        pass

    def toAdmin(self, message: Any, session_id: Any) -> None:
        pass

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        pass

    def toApp(self, message: Any, session_id: Any) -> None:
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:
        if self.forward is not None:
            self.forward(message, session_id)
        else:
            self.app.put(message.toString())


def _settings(path: Path, text: str) -> Any:
    use = "Y" if DICTIONARY.exists() else "N"
    path.write_text(
        f"[DEFAULT]\nFileLogPath={path.parent / 'qf-log'}\nFileStorePath={path.parent / 'qf-store'}\n"
        "ReconnectInterval=1\n"
        "StartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\n"
        f"UseDataDictionary={use}\nDataDictionary={DICTIONARY}\nResetOnLogon=Y\nCheckLatency=N\n" + text
    )
    return fix.SessionSettings(str(path))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp_path: Path, *extra: str) -> ServeProcess:
    (tmp_path / "sessions.toml").write_text(SESSIONS, encoding="utf-8")
    return ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", str(tmp_path / "served.db"),
         "--fix-port", "0", "--sessions", str(tmp_path / "sessions.toml"), "--start", START, *extra],
        cwd=ROOT,
    )  # fmt: skip


def _until_captured(probe: socket.socket, pcap: Path, shark: subprocess.Popen[str]) -> None:
    """Poke the probe port until the capture file grows: tshark says "Capturing on" before its
    filter sees packets, and under load the day's first messages (logon, the first order) fell
    before that. The probe's bytes are neither FIX nor SoupBinTCP, so ingest leaves them out."""
    probe.settimeout(5)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.create_connection(probe.getsockname()) as c:
            peer, _ = probe.accept()
            c.sendall(b"probe")
            peer.close()
        for _ in range(10):  # dumpcap flushes its file every 100 ms or so
            time.sleep(0.05)
            if _packets(pcap):
                return
        if shark.poll() is not None:
            pytest.skip(f"tshark stopped before capturing (exit {shark.returncode})")
    pytest.fail("tshark captured nothing on the probe port in 60 s")


def _packets(pcap: Path) -> int:
    """Packets in a capture still being written (0 while there is only its header, or none)."""
    try:
        return sum(1 for _ in dpkt.pcapng.Reader(io.BytesIO(pcap.read_bytes())))
    except (OSError, ValueError, dpkt.dpkt.Error):
        return 0


def _feed(port: int) -> list[bytes]:
    """The whole ITCH feed from its first message, read until it goes quiet."""

    async def read() -> list[bytes]:
        cl = SoupClient()
        await cl.connect("127.0.0.1", port, seq=1)
        got: list[bytes] = []
        it = cl.messages().__aiter__()
        while True:
            try:
                got.append(await asyncio.wait_for(it.__anext__(), 3.0))
            except (TimeoutError, StopAsyncIteration):
                break
        await cl.close()
        return got

    return asyncio.run(read())


BASE = [(1, "ACC1"), (21, "1"), (55, "7203"), (207, "XTKS"), (40, "2")]
SYM = [(1, "ACC1"), (55, "7203"), (207, "XTKS")]


def _trade(send: Any, replies: queue.Queue[Any]) -> None:
    """Orders that trade, a replace, a cancel and a cancel of an unknown order (refused)."""
    send(order("D", [(11, "buy-1"), (54, "1"), (38, "300"), (44, "2500"), *BASE]))
    send(order("D", [(11, "sell-1"), (54, "2"), (38, "100"), (44, "2500"), *BASE]))
    for _ in range(4):
        replies.get(timeout=30)
    send(order("G", [(11, "buy-2"), (41, "buy-1"), (54, "1"), (38, "200"), (44, "2499"), *BASE]))
    replies.get(timeout=30)
    send(order("F", [(11, "buy-3"), (41, "buy-2"), (54, "1"), (38, "200"), *SYM]))
    replies.get(timeout=30)
    send(order("F", [(11, "x-1"), (41, "nope"), (54, "1"), (38, "100"), *SYM]))
    send(order("D", [(11, "bad-1"), (54, "1"), (38, "150"), (44, "2500"), *BASE]))  # off-lot: rejected
    for _ in range(2):
        replies.get(timeout=30)


def _commands(url: str | Path) -> list[dict[str, Any]]:
    log = open_log(url, FixedClock(0), create=False)
    try:
        return [
            {"type": type(e.record).__name__, **msgspec.to_builtins(e.record)}
            for e in log.read(1)
            if isinstance(e.record, (SubmitOrder, CancelOrder, ReplaceOrder))
        ]
    finally:
        log.close()


def test_quickfix_venue_log_ingested_rerun_and_diffed_shows_no_differences(tmp_path: Path) -> None:
    """A QuickFIX acceptor's log, answered by Chronex's rules, ingests, re-runs and diffs clean."""
    srv = _serve(tmp_path)
    venue, client = App(), App()
    port = _free_port()
    up = _settings(
        tmp_path / "up.cfg",
        f"[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=QF1\nTargetCompID=CHRONEX\n"
        f"SocketConnectHost=127.0.0.1\nSocketConnectPort={srv.fix_port}\n",
    )
    down = _settings(
        tmp_path / "down.cfg",
        f"[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=CLIENT1\n"
        f"SocketAcceptPort={port}\n",
    )
    quiet = fix.ScreenLogFactory(False, False, False)
    # QuickFIX keeps references to its factories, not ownership: they must outlive the engines'
    # stop(), or stopping frees sessions through dangling pointers (a segfault under load).
    factories = [fix.MemoryStoreFactory(), fix.FileStoreFactory(down), fix.FileLogFactory(down)]
    upstream = fix.SocketInitiator(venue, factories[0], up, quiet)
    upstream.start()
    acceptor = None
    initiator = None
    try:
        assert venue.logged_on.wait(30)
        venue.logged_on.clear()
        sessions = venue.sessions

        def forward(message: Any, sid: Any) -> None:
            to = "CLIENT1" if sid.getTargetCompID().getValue() == "CHRONEX" else "CHRONEX"
            fix.Session.sendToTarget(fix.Message(message.toString(), False), sessions[to])

        venue.forward = forward
        acceptor = fix.SocketAcceptor(venue, factories[1], down, factories[2])
        acceptor.start()
        cl = _settings(
            tmp_path / "client.cfg",
            f"[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=CLIENT1\n"
            f"TargetCompID=VENUE\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n",
        )
        factories.append(fix.FileStoreFactory(cl))
        initiator = fix.SocketInitiator(client, factories[-1], cl, quiet)
        initiator.start()
        assert client.logged_on.wait(30)
        _trade(lambda m: fix.Session.sendToTarget(m, client.sessions["VENUE"]), client.app)
    finally:
        for engine in (initiator, acceptor, upstream):
            if engine is not None:
                engine.stop()
        assert srv.terminate() == 0
    [venue_log] = (tmp_path / "qf-log").glob("FIX.4.4-VENUE-CLIENT1.messages*.log")
    prod, rerun = tmp_path / "prod.db", tmp_path / "rerun.db"
    r = _chronex("ingest", "fix", str(venue_log), "-o", str(prod), "--like", str(tmp_path / "served.db"))
    assert r.returncode == 0, r.stderr
    assert "5 commands" in r.stdout and "1 refused at the edge" in r.stdout
    r = _chronex("replay", str(prod), "--rerun", "--out", str(rerun))
    assert r.returncode == 0, r.stderr
    assert "production reports: 0 orders differ" in r.stdout
    r = _chronex("diff", str(prod), str(rerun), "--production", "--json", "--check")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    # The orders are the ones the client sent, at QuickFIX's recorded times, and the manifest names
    # the log by its hash.
    assert [c["client_order_id"] for c in _commands(prod) if c["type"] == "SubmitOrder"] == [
        "buy-1", "sell-1", "bad-1",
    ]  # fmt: skip
    log = open_log(prod, FixedClock(0), create=False)
    try:
        recs = [e.record for e in log.read(1)]
    finally:
        log.close()
    [src] = [x for x in recs if isinstance(x, IngestedSource)]
    assert src.file == venue_log.name and src.format == "fix-log" and len(src.sha256) == 64
    reports = [x for x in recs if isinstance(x, FixObserved) and x.direction == "out"]
    assert len(reports) == 8  # 2 acceptances, 2 fills, a replace, a cancel, a cancel reject, a reject
    # QuickFIX's message stores hold what each side sent: the client's orders and the venue's
    # reports. Together they give the same commands, and again no differences.
    store = tmp_path / "qf-store"
    stores = [store / "FIX.4.4-CLIENT1-VENUE.body", store / "FIX.4.4-VENUE-CLIENT1.header"]
    r = _chronex("ingest", "fix", *map(str, stores), "-o", str(tmp_path / "stores.db"), "--like", str(prod))
    assert r.returncode == 0, r.stderr
    assert _commands(tmp_path / "stores.db") == _commands(prod)
    r = _chronex("diff", str(tmp_path / "stores.db"), "--production", "--json", "--check")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (apt-get install tshark)")
def test_a_tshark_capture_of_a_served_day_gives_the_servers_orders(tmp_path: Path) -> None:
    """A tshark capture of a served day ingests to the orders the server logged and the feed it sent."""
    srv = _serve(tmp_path, "--itch-port", "0")
    itch_port = int(srv.info["itch_port"])
    pcap = tmp_path / "day.pcap"
    probe = socket.create_server(("127.0.0.1", 0))
    probe_port = probe.getsockname()[1]
    ports = f"tcp port {srv.fix_port} or tcp port {itch_port} or tcp port {probe_port}"
    shark = subprocess.Popen(
        ["tshark", "-i", "lo", "-f", ports, "-w", str(pcap)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = App()
    # Held until the engine has stopped (QuickFIX does not own its factories).
    store_factory, log_factory = fix.MemoryStoreFactory(), fix.ScreenLogFactory(False, False, False)
    initiator = None
    try:
        assert shark.stderr is not None
        deadline = time.monotonic() + 60
        while "Capturing on" not in (shark.stderr.readline() or "") and time.monotonic() < deadline:
            if shark.poll() is not None:
                pytest.skip(f"tshark cannot capture on lo here (exit {shark.returncode})")
        _until_captured(probe, pcap, shark)
        cl = _settings(
            tmp_path / "client.cfg",
            f"[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=QF1\n"
            f"TargetCompID=CHRONEX\nSocketConnectHost=127.0.0.1\nSocketConnectPort={srv.fix_port}\n",
        )
        initiator = fix.SocketInitiator(client, store_factory, cl, log_factory)
        initiator.start()
        assert client.logged_on.wait(30)
        _trade(lambda m: fix.Session.sendToTarget(m, client.sessions["CHRONEX"]), client.app)
        initiator.stop()
        initiator = None
        feed = _feed(itch_port)
        time.sleep(1.0)  # let the last segments reach the capture
    finally:
        if initiator is not None:
            initiator.stop()
        os.kill(shark.pid, signal.SIGINT)
        shark.wait(60)
        if shark.stderr is not None:
            shark.stderr.close()
        probe.close()
        assert srv.terminate() == 0
    prod = tmp_path / "prod.db"
    r = _chronex("ingest", "fix", str(pcap), "-o", str(prod), "--like", str(tmp_path / "served.db"))
    assert r.returncode == 0, r.stderr
    served = _commands(tmp_path / "served.db")
    assert len(served) == 5  # the unknown order's cancel is refused at the gateway: no command
    assert _commands(prod) == served
    log = open_log(prod, FixedClock(0), create=False)
    try:
        itch = [e.record for e in log.read(1) if isinstance(e.record, ItchObserved)]
    finally:
        log.close()
    assert any(m[:1] == b"E" for m in feed)  # the fill was published
    assert [bytes.fromhex(x.raw) for x in itch] == feed
    assert [x.seq for x in itch] == list(range(1, len(feed) + 1))
    # Today's engine re-run on the captured orders publishes the captured feed, message by message.
    rerun = tmp_path / "rerun.db"
    r = _chronex("replay", str(prod), "--rerun", "--out", str(rerun))
    assert r.returncode == 0, r.stderr
    r = _chronex("diff", str(prod), str(rerun), "--production", "--json", "--check")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    # On the capture's clock every message was seen after the order that made it (the feed was
    # read after the day, so well after): beyond a 0 ms window each is a timing difference.
    r = _chronex("diff", str(prod), str(rerun), "--production", "--json", "--feed-window-ms", "0")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == len(feed) and {(x["compare"], x["kind"]) for x in rows} == {("feed", "timing")}
    assert all(x["delta_ns"] > 0 for x in rows)
