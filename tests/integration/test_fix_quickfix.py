"""QuickFIX (the quickfix-py wheel) as an independent FIX engine initiating to our acceptor:
log on, trade, cancel, replace, log out; and against the acceptance profile. QuickFIX runs in a
process of its own (quickfix_kit.QuickFix); the acceptor runs in this test's event loop, so every
call to QuickFIX goes through a thread."""

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
from tests.integration.quickfix_kit import DICTIONARY, QuickFix

TAGS = (11, 17, 31, 32, 37, 39, 41, 43, 54, 55, 102, 150, 151, 14, 380, 434)


def config(tmp_path: Path, port: int, sender: str, target: str) -> Path:
    use_dictionary = "Y" if DICTIONARY.exists() else "N"
    cfg = tmp_path / f"{sender}.cfg"
    cfg.write_text(
        "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nStartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={tmp_path / 'qf-store'}\nHeartBtInt=30\nSocketConnectHost=127.0.0.1\n"
        f"SocketConnectPort={port}\nUseDataDictionary={use_dictionary}\nDataDictionary={DICTIONARY}\n"
        f"ResetOnLogon=Y\n\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID={sender}\nTargetCompID={target}\n"
    )
    return cfg


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


async def call(f: Callable[..., Any], *args: Any) -> Any:
    """A call to the QuickFIX process, off the event loop our acceptor runs in."""
    return await asyncio.to_thread(f, *args)


def test_quickfix_initiator_logs_on_trades_cancels_replaces_and_logs_out(tmp_path: Path) -> None:
    """An independent engine completes a whole order-entry session against our acceptor."""

    async def scenario() -> None:
        desk = OrderDesk()
        cfg = SessionsConfig((SessionSettings("CHRONEX", "CLIENT1", heartbeat_s=30),))
        acceptor = FixAcceptor(cfg, desk, WallClock(), store_factory(f"file:{tmp_path / 'ours'}"))
        await acceptor.start()
        qf = QuickFix()
        try:
            cfg = config(tmp_path, acceptor.port, "CLIENT1", "CHRONEX")
            await call(lambda: qf.engine("c", "initiator", cfg, tags=TAGS))
            assert await call(qf.logged_on, "c", 10.0)

            async def send(msg_type: str, fields: list[tuple[int, str]]) -> None:
                await call(qf.send, "c", "CHRONEX", msg_type, fields)

            base = [(21, "1"), (55, "7203"), (40, "2")]
            await send("D", [(11, "buy-1"), (54, "1"), (38, "100"), (44, "2500"), *base])
            await send("D", [(11, "sell-1"), (54, "2"), (38, "40"), (44, "2500"), *base])
            reports = await call(qf.take, "c", 4, 10.0)
            assert [(r[11], r[150], r[39]) for r in reports] == [
                ("buy-1", "0", "0"),
                ("sell-1", "0", "0"),
                ("buy-1", "F", "1"),
                ("sell-1", "F", "2"),
            ]
            assert (reports[2][32], reports[2][31], reports[2][151]) == ("40", "2500", "60")
            await send("G", [(11, "buy-2"), (41, "buy-1"), (54, "1"), (38, "80"), (44, "2499"), *base])
            await send("F", [(11, "buy-3"), (41, "buy-2"), (54, "1"), (38, "80"), (55, "7203")])
            await send("F", [(11, "x-1"), (41, "nope"), (54, "1"), (38, "1"), (55, "7203")])
            replaced, cancelled, rejected = await call(qf.take, "c", 3, 10.0)
            assert (replaced[150], replaced[11], replaced[41], replaced[151]) == ("5", "buy-2", "buy-1", "40")
            assert (cancelled[150], cancelled[39], cancelled[11], cancelled[41]) == (
                "4",
                "4",
                "buy-3",
                "buy-2",
            )
            assert (rejected[35], rejected[434], rejected[102]) == ("9", "1", "1")
            ours = acceptor.session("CHRONEX", "CLIENT1")
            # The logout is answered before this returns.
            assert await call(qf.logout, "c") == []  # and no session Reject came from our side
            await wait_for(lambda: not ours.connected)
            assert ours.close_reason.startswith("peer logged out")
            assert ours.store.next_target_seq == 8  # Logon, 5 orders, Logout: 7 messages
        finally:
            await call(qf.close)
            await acceptor.stop()

    asyncio.run(scenario())


def test_quickfix_initiator_against_the_acceptance_profile(tmp_path: Path) -> None:
    """The acceptance profile echoes a NewOrderSingle and rejects an unsupported message with 380=3."""

    async def scenario() -> None:
        acceptor = acceptance_acceptor()
        await acceptor.start()
        qf = QuickFix()
        try:
            cfg = config(tmp_path, acceptor.port, "TW44", "ISLD")
            await call(lambda: qf.engine("c", "initiator", cfg, tags=TAGS))
            assert await call(qf.logged_on, "c", 10.0)
            base = [(11, "e-1"), (21, "1"), (54, "1"), (55, "INTC"), (40, "1"), (38, "100")]
            await call(qf.send, "c", "ISLD", "D", base)
            await call(qf.send, "c", "ISLD", "H", [(11, "e-1"), (54, "1"), (55, "INTC")])
            echo, reject = await call(qf.take, "c", 2, 10.0)
            assert (echo[35], echo[11], echo[55]) == ("D", "e-1", "INTC")
            assert (reject[35], reject[380]) == ("j", "3")
        finally:
            await call(qf.close)
            await acceptor.stop()

    asyncio.run(scenario())


if os.environ.get("CHRONEX_FIX_DEBUG"):  # pragma: no cover - a developer's switch
    import logging

    logging.basicConfig(level=logging.INFO)
