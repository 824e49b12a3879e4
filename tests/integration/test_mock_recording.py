"""Recording and replay: a mock's traffic lands in an ordinary hash-chained Chronex log, and
playing it back answers a client that sends the recorded bytes with exactly the recorded bytes
(in-process and through ``chronex mock NAME --replay LOG``)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

from mocks.base import MockContext
from mocks.exchange import DEFAULT_PROFILE, ExchangeMock
from mocks.profile import read_toml
from mocks.recording import LogRecorder, Traffic, read_traffic, replay
from mocks.testkit import FixClient, dial, until
from sim.clock import VirtualClock
from system.eventlog import open_log
from system.eventlog.verify import verify

T0 = 1_925_424_000 * 10**9


def record_session(log: Path) -> None:
    """One hedger session against the exchange: logon, an IOC that fills, logout."""

    async def main() -> None:
        clock = VirtualClock(T0)
        rec = LogRecorder(str(log), clock)
        ex = ExchangeMock(MockContext(profile=read_toml(DEFAULT_PROFILE, "p"), clock=clock, record=rec))
        await ex.start()
        client = FixClient()
        session, ini = await dial(ex.endpoints()["fix"], "HEDGER", "EXCH", client, clock)
        ask = ex.server.sequencer.book("CRYPTO:BTCUSD").asks[0].price
        session.send("D", [(11, "h1"), (1, "HEDGE"), (55, "CRYPTO:BTCUSD"), (54, "1"),
                           (60, "20310106-00:00:00"), (38, "0.5"), (40, "2"), (44, f"{ask / 100:.2f}"),
                           (59, "3")])  # fmt: skip
        await until(lambda: any(m.get(39) in (b"1", b"2") for m in client.of("8")))
        await ini.stop()
        await ex.stop()
        rec.close()

    asyncio.run(main())


def script(traffic: list[Traffic], direction: str) -> bytes:
    return b"".join(t.payload for t in traffic if t.direction == direction and t.link == "fix/1")


def talk(port: int, data: bytes) -> bytes:
    """Send ``data`` and read until the peer closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        got = bytearray()
        while chunk := s.recv(65536):
            got += chunk
    return bytes(got)


def test_recorded_traffic_is_a_verifiable_log_holding_both_directions(tmp_path: Path) -> None:
    """The recording verifies as a hash chain, is complete once the mock stopped cleanly, and holds
    the Logon in and out and the fill."""
    log = tmp_path / "traffic.db"
    record_session(log)
    store = open_log(str(log), VirtualClock(0), create=False)
    try:
        verdict = verify(store)
        assert verdict.ok and verdict.incomplete is None, verdict
    finally:
        store.close()
    traffic = read_traffic(str(log), "exchange", VirtualClock(0))
    assert b"\x0135=A\x01" in script(traffic, "in") and b"\x0135=A\x01" in script(traffic, "out")
    assert b"\x01150=F\x01" in script(traffic, "out")
    assert all(t.t >= T0 for t in traffic)


def test_replay_answers_the_recorded_client_with_the_recorded_bytes(tmp_path: Path) -> None:
    """Played back as the exchange, the recording answers the recorded client bytes with exactly
    what the exchange sent."""
    log = tmp_path / "traffic.db"
    record_session(log)
    traffic = read_traffic(str(log), "exchange", VirtualClock(0))

    async def main() -> bytes:
        bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(replay(traffic, "accept", ready=bound.set_result))
        port = await bound
        got = await asyncio.to_thread(talk, port, script(traffic, "in"))
        assert await asyncio.wait_for(task, 30) == 1
        return got

    assert asyncio.run(main()) == script(traffic, "out")


def test_chronex_mock_replay_plays_a_recording_back_over_tcp(tmp_path: Path) -> None:
    """``chronex mock exchange --replay LOG`` prints its port, answers as recorded, and exits 0
    once the recorded link is played."""
    log = tmp_path / "traffic.db"
    record_session(log)
    traffic = read_traffic(str(log), "exchange", VirtualClock(0))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from chronex.cli import entry; entry()",
         "mock", "exchange", "--replay", str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert talk(int(ready["port"]), script(traffic, "in")) == script(traffic, "out")
        assert proc.wait(60) == 0
        assert json.loads(proc.stdout.readline()) == {"replayed": 1}
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
