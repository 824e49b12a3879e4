"""QuickFIX (the quickfix-py wheel) as an independent FIX engine initiating to our acceptor:
log on, trade, cancel, replace, log out; and against the acceptance profile."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from system.clock import WallClock
from system.gateways.fix import FixAcceptor, SessionsConfig, SessionSettings, store_factory
from system.gateways.fix.acceptance import acceptance_acceptor
from system.gateways.fix.testkit import OrderDesk
from tests.integration.quickfix_kit import DICTIONARY, Client, fix, order


def start_quickfix(tmp_path: Path, port: int, sender: str, target: str) -> tuple[Any, Client]:
    use_dictionary = "Y" if DICTIONARY.exists() else "N"
    cfg = tmp_path / f"{sender}.cfg"
    cfg.write_text(
        "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nStartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={tmp_path / 'qf-store'}\nHeartBtInt=30\nSocketConnectHost=127.0.0.1\n"
        f"SocketConnectPort={port}\nUseDataDictionary={use_dictionary}\nDataDictionary={DICTIONARY}\n"
        f"ResetOnLogon=Y\n\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID={sender}\nTargetCompID={target}\n"
    )
    client = Client((11, 17, 31, 32, 37, 39, 41, 43, 54, 55, 102, 150, 151, 14, 380, 434))
    settings = fix.SessionSettings(str(cfg))
    # QuickFIX holds its factories by reference, not ownership: the client keeps them alive past
    # stop(), or stopping frees sessions through dangling pointers (a segfault that takes the test
    # worker with it).
    client.keep = (fix.MemoryStoreFactory(), fix.ScreenLogFactory(False, False, False), settings)
    initiator = fix.SocketInitiator(client, client.keep[0], settings, client.keep[1])
    initiator.start()
    return initiator, client


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


def take(client: Client, n: int, timeout: float = 10.0) -> list[dict[int, str]]:
    return [client.app.get(timeout=timeout) for _ in range(n)]


def test_quickfix_initiator_logs_on_trades_cancels_replaces_and_logs_out(tmp_path: Path) -> None:
    """An independent engine completes a whole order-entry session against our acceptor."""

    async def scenario() -> None:
        desk = OrderDesk()
        cfg = SessionsConfig((SessionSettings("CHRONEX", "CLIENT1", heartbeat_s=30),))
        acceptor = FixAcceptor(cfg, desk, WallClock(), store_factory(f"file:{tmp_path / 'ours'}"))
        await acceptor.start()
        initiator, client = start_quickfix(tmp_path, acceptor.port, "CLIENT1", "CHRONEX")
        try:
            await wait_for(client.logged_on.is_set)
            sid = client.session_id
            send = fix.Session.sendToTarget
            base = [(21, "1"), (55, "7203"), (40, "2")]
            send(order("D", [(11, "buy-1"), (54, "1"), (38, "100"), (44, "2500"), *base]), sid)
            send(order("D", [(11, "sell-1"), (54, "2"), (38, "40"), (44, "2500"), *base]), sid)
            reports = await asyncio.to_thread(take, client, 4)
            assert [(r[11], r[150], r[39]) for r in reports] == [
                ("buy-1", "0", "0"),
                ("sell-1", "0", "0"),
                ("buy-1", "F", "1"),
                ("sell-1", "F", "2"),
            ]
            assert (reports[2][32], reports[2][31], reports[2][151]) == ("40", "2500", "60")
            send(order("G", [(11, "buy-2"), (41, "buy-1"), (54, "1"), (38, "80"), (44, "2499"), *base]), sid)
            send(order("F", [(11, "buy-3"), (41, "buy-2"), (54, "1"), (38, "80"), (55, "7203")]), sid)
            send(order("F", [(11, "x-1"), (41, "nope"), (54, "1"), (38, "1"), (55, "7203")]), sid)
            replaced, cancelled, rejected = await asyncio.to_thread(take, client, 3)
            assert (replaced[150], replaced[11], replaced[41], replaced[151]) == ("5", "buy-2", "buy-1", "40")
            assert (cancelled[150], cancelled[39], cancelled[11], cancelled[41]) == (
                "4",
                "4",
                "buy-3",
                "buy-2",
            )
            assert (rejected[35], rejected[434], rejected[102]) == ("9", "1", "1")
            assert client.admin_rejects == []
            ours = acceptor.session("CHRONEX", "CLIENT1")
            await asyncio.to_thread(initiator.stop)  # QuickFIX's stop blocks until its logout is done
            await wait_for(lambda: not ours.connected)
            assert ours.close_reason.startswith("peer logged out")
            assert ours.store.next_target_seq == 8  # Logon, 5 orders, Logout: 7 messages
        finally:
            await asyncio.to_thread(initiator.stop)
            await acceptor.stop()

    asyncio.run(scenario())


def test_quickfix_initiator_against_the_acceptance_profile(tmp_path: Path) -> None:
    """The acceptance profile echoes a NewOrderSingle and rejects an unsupported message with 380=3."""

    async def scenario() -> None:
        acceptor = acceptance_acceptor()
        await acceptor.start()
        initiator, client = start_quickfix(tmp_path, acceptor.port, "TW44", "ISLD")
        try:
            await wait_for(client.logged_on.is_set)
            sid = client.session_id
            base = [(11, "e-1"), (21, "1"), (54, "1"), (55, "INTC"), (40, "1"), (38, "100")]
            fix.Session.sendToTarget(order("D", base), sid)
            fix.Session.sendToTarget(order("H", [(11, "e-1"), (54, "1"), (55, "INTC")]), sid)
            echo, reject = await asyncio.to_thread(take, client, 2)
            assert (echo[35], echo[11], echo[55]) == ("D", "e-1", "INTC")
            assert (reject[35], reject[380]) == ("j", "3")
        finally:
            await asyncio.to_thread(initiator.stop)
            await acceptor.stop()

    asyncio.run(scenario())


if os.environ.get("CHRONEX_FIX_DEBUG"):  # pragma: no cover - a developer's switch
    import logging

    logging.basicConfig(level=logging.INFO)
