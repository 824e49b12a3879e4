"""`chronex sim --feed` writes a day's ITCH file that `chronex feed decode` reads; `chronex serve
--itch-port --glimpse-port` publishes the engine's book, which `chronex feed watch` records and a
GLIMPSE snapshot shows; bad input is one line and exit 2."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

import chronex.commands.feed as feedcmd
from chronex.cli import main
from system.engine import Side, SubmitOrder
from system.gateways.itch import FeedBook
from system.gateways.itch.dayfile import read_messages
from system.gateways.itch.soup import SoupClient
from system.server.admin import AdminClient
from system.server.process import ServeProcess
from tests.e2e.feed_kit import free_udp_port, multicast_on_loopback

ROOT = Path(__file__).resolve().parents[2]
START = "2031-01-06T08:55+09:00"


def _serve(tmp_path: Path, *feed: str) -> ServeProcess:
    """`chronex serve` of 7203 on a log in ``tmp_path`` with the ``feed`` options."""
    args = ["--venue", "XTKS", "--instruments", "7203", "--log", str(tmp_path / "d.db"), "--start", START]
    return ServeProcess([*args, *feed], cwd=ROOT)


async def _glimpse(port: int) -> FeedBook:
    """The book a GLIMPSE snapshot from ``port`` holds (and the next live sequence number)."""
    fb = FeedBook()
    cl = SoupClient()
    await cl.connect("127.0.0.1", port)
    async for m in cl.messages():
        fb.apply(m)
    return fb


def test_sim_writes_a_day_file_that_decode_reads(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The day file holds length-prefixed ITCH messages; decode shows them and the closing book."""
    path = tmp_path / "day.itch"
    rc = main(["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203", "--seed", "2",
               "--until", "09:03", "--feed", str(path), "--quiet"])  # fmt: skip
    assert rc == 0
    msgs = list(read_messages(path))
    assert msgs[0][:1] == b"S" and msgs[-1][:1] == b"S" and any(m[:1] == b"Q" for m in msgs)
    capsys.readouterr()
    assert main(["feed", "decode", str(path), "--types", "Q", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(r["type"] == "Q" and r["stock"] == "7203" and r["shares"] > 0 for r in rows)
    assert main(["feed", "decode", str(path), "--book", "7203", "--json"]) == 0
    book = json.loads(capsys.readouterr().out)
    # an existing day file is kept unless --overwrite, as an existing log is
    again = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203", "--seed", "3",
             "--until", "08:10", "--feed", str(path), "--quiet"]  # fmt: skip
    assert main(again) == 2
    assert "--feed" in capsys.readouterr().err and list(read_messages(path)) == msgs
    assert main([*again, "--overwrite"]) == 0
    assert list(read_messages(path)) != msgs
    fb = FeedBook()
    for m in msgs:
        fb.apply(m)
    bids = fb.book("7203")[0]
    assert book["bids"] == [[p, [list(o) for o in os]] for p, os in bids] and bids


def test_feed_bad_input_is_one_line_exit_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Not an ITCH file, a missing file, an unknown stock, nobody listening: exit 2, one line."""
    junk = tmp_path / "junk.itch"
    junk.write_bytes(b"\x00\x05hello")
    assert main(["feed", "decode", str(junk)]) == 2
    assert main(["feed", "decode", str(tmp_path / "none.itch")]) == 2
    assert main(["feed", "watch", "--port", "1"]) == 2
    # a group joined through an address that is not this host's
    assert main(["feed", "watch", "--mold", "239.255.90.7:30999", "--request", "127.0.0.1:1",
                 "--interface", "192.0.2.254"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("chronex: ") for line in err)
    assert "not an ITCH 5.0 day file" in err[0] and "no such file" in err[1] and "127.0.0.1:1" in err[2]
    assert "cannot listen for MoldUDP64 on 239.255.90.7:30999" in err[3]
    # an existing --out (above all a log) is kept; a count below 1 or a port out of range is refused
    log = tmp_path / "day.db"
    day = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203", "--until", "08:01"]
    assert main([*day, "--log", str(log), "--quiet"]) == 0
    before = log.read_bytes()
    capsys.readouterr()
    for bad, says in (
        (["feed", "watch", "--port", "1", "--out", str(log)], "already exists"),
        (["feed", "watch", "--port", "1", "--out", str(log), "--overwrite"], "is a database"),
        (["feed", "watch", "--port", "70000"], "is not a port"),
        (["feed", "watch", "--port", "1", "--count", "0"], "--count 0"),
        ([*day, "--log", str(tmp_path / "b.db"), "--feed", str(tmp_path / "b.db")], "is the --log file"),
        (["report", str(log), "--out", str(log)], "is a database"),
    ):
        assert main(bad) == 2, bad
        assert says in capsys.readouterr().err, bad
    assert log.read_bytes() == before and not (tmp_path / "b.db").exists()


def test_serve_publishes_itch_and_glimpse(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Orders sent to `chronex serve` appear on its ITCH feed; `feed watch --out` records them and a
    GLIMPSE snapshot shows the same book."""
    srv = _serve(tmp_path, "--itch-port", "0", "--glimpse-port", "0")
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        c.call("run_until_phase", venue="XTKS", phase="CONTINUOUS")
        c.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
        c.execute(SubmitOrder("A", "b2", "XTKS:7203", Side.BUY, 200, price=24990))
        c.execute(SubmitOrder("B", "s1", "XTKS:7203", Side.SELL, 100, price=25000))
        c.close()
        out = tmp_path / "live.itch"
        port, gport = srv.info["itch_port"], srv.info["glimpse_port"]

        async def upto_execution() -> int:
            """Messages up to the execution (the feed follows the log, so it may still be coming)."""
            cl = SoupClient()
            await cl.connect("127.0.0.1", port, seq=1)
            got = 0
            async for m in cl.messages():
                got += 1
                if m[:1] == b"E":
                    break
            await cl.close()
            return got

        n = asyncio.run(asyncio.wait_for(upto_execution(), 20))
        assert main(["feed", "watch", "--port", str(port), "--out", str(out), "--count", str(n)]) == 0
        live = FeedBook()
        for m in read_messages(out):
            live.apply(m)

        snap = asyncio.run(_glimpse(gport))
        assert snap.next_seq == n + 1
        bids = live.book("7203")[0]
        assert [(p, [q for _, q in os]) for p, os in bids] == [(25_000_000, [200]), (24_990_000, [200])]
        assert snap.book("7203") == live.book("7203")
    finally:
        assert srv.terminate() == 0


def test_feed_watch_shows_the_book_while_it_runs_and_ctrl_c_keeps_the_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live view shows the book a few messages in (not only every 200 messages or at the
    end), and Ctrl-C of `feed watch --out` writes what arrived, saying it was cut short."""
    srv = _serve(tmp_path, "--itch-port", "0")
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        c.call("run_until_phase", venue="XTKS", phase="CONTINUOUS")
        c.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
        c.execute(SubmitOrder("B", "s1", "XTKS:7203", Side.SELL, 100, price=25010))
        c.close()
        port = srv.info["itch_port"]
        screen = io.StringIO()
        monkeypatch.setattr(feedcmd, "out", Console(file=screen, force_terminal=True, width=120))

        async def watch_for_a_while() -> str:
            task = asyncio.ensure_future(feedcmd._watch("127.0.0.1", port, "", "", 1, None, None))
            await asyncio.sleep(2.0)
            seen = screen.getvalue()  # while it still runs
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return seen

        seen = asyncio.run(watch_for_a_while())
        assert "2500.0000" in seen and "2501.0000" in seen, seen[-2000:]

        rec = tmp_path / "cut.itch"
        watcher = subprocess.Popen(
            [sys.executable, "-c", "from chronex.cli import entry; entry()", "feed", "watch",
             "--port", str(port), "--out", str(rec)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(3.0)
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=20)
        msgs = list(read_messages(rec))
        assert watcher.returncode == 130, err
        assert f"stopped: {len(msgs)} messages written to {rec}" in err and "Traceback" not in err
        assert any(m[:1] == b"A" for m in msgs) and msgs[-1][:2] != b"S\x00"
    finally:
        assert srv.terminate() == 0


def test_feed_watch_on_a_port_that_is_not_a_feed_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The server's admin port (it never answers a SoupBinTCP login) and its FIX port (it drops
    the connection): one line each, exit 2, no hang."""
    monkeypatch.setattr(feedcmd, "LOGIN_TIMEOUT_S", 1.0)
    sessions = str(ROOT / "config" / "fix-sessions.example.toml")
    srv = _serve(tmp_path, "--fix-port", "0", "--sessions", sessions)
    try:
        capsys.readouterr()
        assert main(["feed", "watch", "--port", str(srv.admin_port), "--count", "1"]) == 2
        assert main(["feed", "watch", "--port", str(srv.fix_port), "--count", "1"]) == 2
    finally:
        assert srv.terminate() == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "does not answer a SoupBinTCP login" in err[0], err
    assert "not a SoupBinTCP feed" in err[1], err


def test_serve_publishes_moldudp64_and_retransmits(tmp_path: Path) -> None:
    """`chronex serve --mold-port --mold-to` sends the feed as MoldUDP64 datagrams to the target
    and answers a retransmission request from its port with the same messages."""
    import socket

    from system.gateways.itch.mold import HEADER, unpack

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    target = rx.getsockname()[1]
    srv = _serve(tmp_path, "--mold-port", "0", "--mold-to", f"127.0.0.1:{target}")
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        c.call("run_until_phase", venue="XTKS", phase="CONTINUOUS")
        c.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
        c.close()
        live: dict[int, bytes] = {}
        session = b""
        while not any(m[:1] == b"A" for m in live.values()):
            session, seq, _count, msgs = unpack(rx.recv(65536))
            live.update((seq + i, m) for i, m in enumerate(msgs))
        rx.sendto(HEADER.pack(session, 1, 3), ("127.0.0.1", srv.info["mold_port"]))
        while True:
            _s, seq, count, msgs = unpack(rx.recv(65536))
            if seq == 1 and count == len(msgs) and msgs:
                break
        assert msgs == [live[i] for i in range(1, 1 + len(msgs))]
    finally:
        rx.close()
        assert srv.terminate() == 0


def test_serve_multicasts_moldudp64_that_feed_watch_records(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`chronex serve --mold-to GROUP:PORT` sends the feed to a multicast group; `chronex feed watch
    --mold GROUP:PORT --request` joins it, asks for the messages sent before it joined, and records
    the stream from message 1; the server's GLIMPSE shows the same book."""
    why = multicast_on_loopback()
    if why is not None:
        pytest.skip(why)
    group = f"239.255.90.6:{free_udp_port()}"
    srv = _serve(tmp_path, "--mold-port", "0", "--mold-to", group, "--glimpse-port", "0")
    try:
        c = AdminClient("127.0.0.1", srv.admin_port)
        c.call("run_until_phase", venue="XTKS", phase="CONTINUOUS")
        c.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
        c.execute(SubmitOrder("B", "s1", "XTKS:7203", Side.SELL, 100, price=25010))

        snap = asyncio.run(_glimpse(srv.info["glimpse_port"]))
        n = snap.next_seq - 1  # every message so far, all sent before the watcher joined
        # one more after it joins: the heartbeat names the next seq, so the gap is known at once
        c.execute(SubmitOrder("B", "s2", "XTKS:7203", Side.SELL, 200, price=25020))
        c.close()
        out = tmp_path / "mold.itch"
        args = ["feed", "watch", "--mold", group, "--request", f"127.0.0.1:{srv.info['mold_port']}",
                "--out", str(out), "--count", str(n + 1)]  # fmt: skip
        assert main(args) == 0
        live = FeedBook()
        for m in read_messages(out):
            live.apply(m)
        asks = live.book("7203")[1]
        assert [(p, [q for _, q in os]) for p, os in asks] == [(25_010_000, [100]), (25_020_000, [200])]
        assert live.book("7203")[0] == snap.book("7203")[0]
    finally:
        assert srv.terminate() == 0
    capsys.readouterr()
    assert main(["feed", "watch", "--mold", group]) == 2
    assert main(["feed", "watch", "--mold", "239.255.90.6", "--request", "127.0.0.1:1"]) == 2
    assert main(["feed", "watch", "--port", "1", "--mold", group, "--request", "127.0.0.1:1"]) == 2
    assert main(["feed", "watch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("chronex: ") for line in err), err
    assert "needs --request" in err[0] and "is not host:port" in err[1] and "one of them" in err[2]


def test_feed_decode_refuses_a_limit_below_one_and_unknown_types(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """--limit 0 printed one message and --types Z none, exit 0: both are bad input now."""
    path = tmp_path / "day.itch"
    assert main(["sim", "--venue", "XTKS", "--date", "2027-01-04", "--instruments", "7203",
                 "--until", "08:02", "--feed", str(path), "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["feed", "decode", str(path), "--limit", "0"]) == 2
    assert main(["feed", "decode", str(path), "--types", "A,Z"]) == 2
    assert main(["feed", "decode", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--limit 0" in err[0] and "'Z' is not an ITCH 5.0 message type" in err[1]
    assert "is a folder" in err[2]
