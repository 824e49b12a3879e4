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
import shutil
import signal
import socket
import subprocess
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
from tests.integration.quickfix_kit import DICTIONARY, QuickFix

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


def _settings(path: Path, text: str) -> Path:
    use = "Y" if DICTIONARY.exists() else "N"
    path.write_text(
        f"[DEFAULT]\nFileLogPath={path.parent / 'qf-log'}\nFileStorePath={path.parent / 'qf-store'}\n"
        "ReconnectInterval=1\n"
        "StartTime=00:00:00\nEndTime=00:00:00\nHeartBtInt=30\n"
        f"UseDataDictionary={use}\nDataDictionary={DICTIONARY}\nResetOnLogon=Y\nCheckLatency=N\n" + text
    )
    return path


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


def _trade(qf: QuickFix, name: str, to: str) -> None:
    """Orders that trade, a replace, a cancel and a cancel of an unknown order (refused)."""
    qf.send(name, to, "D", [(11, "buy-1"), (54, "1"), (38, "300"), (44, "2500"), *BASE])
    qf.send(name, to, "D", [(11, "sell-1"), (54, "2"), (38, "100"), (44, "2500"), *BASE])
    qf.take(name, 4)
    qf.send(name, to, "G", [(11, "buy-2"), (41, "buy-1"), (54, "1"), (38, "200"), (44, "2499"), *BASE])
    qf.get(name)
    qf.send(name, to, "F", [(11, "buy-3"), (41, "buy-2"), (54, "1"), (38, "200"), *SYM])
    qf.get(name)
    qf.send(name, to, "F", [(11, "x-1"), (41, "nope"), (54, "1"), (38, "100"), *SYM])
    qf.send(name, to, "D", [(11, "bad-1"), (54, "1"), (38, "150"), (44, "2500"), *BASE])  # off-lot: rejected
    qf.take(name, 2)


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
    cl = _settings(
        tmp_path / "client.cfg",
        f"[SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=CLIENT1\n"
        f"TargetCompID=VENUE\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n",
    )
    qf = QuickFix()
    try:
        # The venue: one QuickFIX application with two engines, relaying the client's orders to
        # Chronex (which answers by its rules) and Chronex's reports back, logging both to files.
        qf.engine("venue", "initiator", up)
        assert qf.logged_on("venue")
        qf.call("clear", name="venue")
        qf.call("forward", name="venue")
        qf.engine("venue-side", "acceptor", down, store="file", log="file", app="venue")
        qf.engine("client", "initiator", cl, store="file")
        assert qf.logged_on("client")
        _trade(qf, "client", "VENUE")
        qf.logout("client")  # the venue answers it; then the venue leaves Chronex
        qf.logout("venue")
    finally:
        qf.close()
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
    qf = QuickFix()
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
        qf.engine("client", "initiator", cl)
        assert qf.logged_on("client")
        _trade(qf, "client", "CHRONEX")
        qf.logout("client")
        feed = _feed(itch_port)
        time.sleep(1.0)  # let the last segments reach the capture
    finally:
        qf.close()
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
