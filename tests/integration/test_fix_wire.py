"""Our initiator against our acceptor over loopback sockets: heartbeats in wall time, SendingTime
from the server's virtual clock, and a kill -9 of the acceptor's process: after the restart the
sequence numbers continue and a ResendRequest is served from the persisted store."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from system.clock import FixedClock, WallClock, from_datetime
from system.gateways.fix import (
    FixAcceptor,
    FixInitiator,
    FixMessage,
    SessionsConfig,
    SessionSettings,
    store_factory,
)
from system.gateways.fix.codec import Framer, parse, parse_timestamp
from system.gateways.fix.session import FixSession
from system.gateways.fix.testkit import OrderDesk

ROOT = Path(__file__).resolve().parents[2]
T2031 = from_datetime(datetime(2031, 1, 6, 0, 0, tzinfo=UTC))

SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from system.clock import WallClock
    from system.gateways.fix import FixAcceptor, SessionSettings, SessionsConfig, store_factory
    from system.gateways.fix.testkit import OrderDesk

    async def main():
        cfg = SessionsConfig((SessionSettings("CHRONEX", "CLIENT1"),))
        acceptor = FixAcceptor(cfg, OrderDesk(), WallClock(), store_factory("file:" + sys.argv[1]))
        await acceptor.start()
        print(acceptor.port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


class Collect:
    def __init__(self) -> None:
        self.messages: list[FixMessage] = []

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.messages.append(msg)


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


def order(i: int) -> list[tuple[int, str | bytes | int]]:
    return [(11, f"o-{i}"), (54, 1 + i % 2), (55, "7203"), (38, 10), (44, f"{2500 + i}"), (40, 2),
            (60, "20310106-00:00:00")]  # fmt: skip


def test_sending_time_comes_from_the_server_clock_and_heartbeats_from_wall_time() -> None:
    """A server in 2031 stamps 2031; a 1 s HeartBtInt still beats while that clock stands still."""

    async def scenario() -> None:
        server_clock = FixedClock(T2031)
        cfg = SessionsConfig((SessionSettings("CHRONEX", "CLIENT1"),))
        acceptor = FixAcceptor(cfg, OrderDesk(), server_clock, store_factory("memory:"))
        await acceptor.start()
        client = Collect()
        settings = SessionSettings("CLIENT1", "CHRONEX", heartbeat_s=1)
        initiator = FixInitiator(
            settings, client, server_clock, store_factory("memory:"), host="127.0.0.1", port=acceptor.port
        )
        session = await initiator.connect()
        session.send("D", order(1))
        await wait_for(lambda: len(client.messages) == 1)
        assert parse_timestamp(client.messages[0].get(52) or b"") == T2031
        ours = acceptor.session("CHRONEX", "CLIENT1")
        before = ours.store.next_sender_seq
        await asyncio.sleep(2.3)
        assert ours.store.next_sender_seq >= before + 2  # heartbeats on the timer clock
        assert ours.logged_on and session.logged_on
        await initiator.stop()
        await wait_for(lambda: not ours.connected)
        await acceptor.stop()

    asyncio.run(scenario())


def test_kill_9_then_restart_continues_sequence_numbers_and_serves_resends(tmp_path: Path) -> None:
    """Every ExecutionReport sent before a kill -9 is served again after the restart."""

    def start() -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(tmp_path / "server")],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert proc.stdout is not None
        return proc, int(proc.stdout.readline())

    def stop(proc: subprocess.Popen[str]) -> None:
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    async def scenario() -> None:
        proc, port = start()
        client = Collect()
        stores = store_factory(f"file:{tmp_path / 'client'}")
        settings = SessionSettings("CLIENT1", "CHRONEX")
        initiator = FixInitiator(settings, client, WallClock(), stores, host="127.0.0.1", port=port)
        try:
            session = await initiator.connect()
            for i in range(20):
                session.send("D", order(i))
            await wait_for(lambda: sum(m.get(150) == b"0" for m in client.messages) == 20)
            before = [(int(m.get(34) or 0), m.get(11), m.get(150)) for m in client.messages]
            last_seq = max(s for s, _, _ in before)
            os.kill(proc.pid, signal.SIGKILL)
            stop(proc)
            await wait_for(lambda: not session.connected)

            proc, port = start()
            initiator.port = port
            await initiator.connect()
            # The restarted acceptor's Logon continues the numbering ...
            assert session.store.next_target_seq == last_seq + 2
            # ... and a ResendRequest after the restart replays the stored ExecutionReports.
            frames: list[bytes] = []
            conn = initiator.connection
            assert conn is not None
            framer, original = Framer(), conn.data_received

            def spy(data: bytes) -> None:
                frames.extend(f for f in framer.feed(data) if isinstance(f, bytes))
                original(data)

            conn.data_received = spy  # type: ignore[method-assign]
            session.send("2", [(7, 1), (16, 0)])
            await wait_for(lambda: any(parse(f).get(34) == str(last_seq).encode() for f in frames))
            resent = [parse(f) for f in frames if parse(f).msg_type == "8"]
            assert all(m.get(43) == b"Y" and m.get(122) is not None for m in resent)
            assert sorted((int(m.get(34) or 0), m.get(11), m.get(150)) for m in resent) == sorted(before)
            await initiator.stop()
        finally:
            proc.kill()
            stop(proc)

    asyncio.run(scenario())


def test_a_refused_logon_raises_with_the_reason_instead_of_hanging() -> None:
    """An initiator whose CompIDs the acceptor does not know is disconnected; connect() says so."""

    async def scenario() -> None:
        cfg = SessionsConfig((SessionSettings("CHRONEX", "CLIENT1"),))
        acceptor = FixAcceptor(cfg, OrderDesk(), WallClock(), store_factory("memory:"))
        await acceptor.start()
        stranger = FixInitiator(
            SessionSettings("NOBODY", "CHRONEX"), Collect(), WallClock(), store_factory("memory:"),
            host="127.0.0.1", port=acceptor.port,
        )  # fmt: skip
        try:
            await asyncio.wait_for(stranger.connect(), 5)
        except ConnectionError as e:
            assert "connection lost" in str(e)
        else:
            raise AssertionError("logon of an unknown session succeeded")
        await stranger.stop()
        await acceptor.stop()

    asyncio.run(scenario())
