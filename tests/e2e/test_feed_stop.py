"""Stopping `chronex serve` ends its MoldUDP64 feed so that a subscriber can complete it: End of
Session is repeated and retransmissions are answered for a while after the stop, so losing the
last packets, End of Session included, costs nothing (UDP has no acknowledgement to wait for)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from system.engine import Side, SubmitOrder
from system.gateways.itch.mold import END, MoldClient, unpack
from system.server.admin import AdminClient
from system.server.process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
START = "2031-01-06T10:00+09:00"


class _LosesTheEnd(MoldClient):
    """Drops the first End of Session and the first packet holding End of Messages (system event
    ``C``): the last two things a stopping server sends."""

    lost_end = lost_last = False

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        _session, _seq, count, msgs = unpack(data)
        if count == END and not self.lost_end:
            self.lost_end = True
            return
        if not self.lost_last and any(m[:1] == b"S" and m[-1:] == b"C" for m in msgs):
            self.lost_last = True
            return
        super().datagram_received(data, addr)


def test_a_subscriber_that_loses_the_last_packets_still_completes_the_stream_after_the_stop() -> None:
    async def run() -> tuple[_LosesTheEnd, list[bytes], int]:
        got: list[bytes] = []
        client = _LosesTheEnd(got.append, ("127.0.0.1", 9), retry=0.02)
        target = await client.start()
        srv = await asyncio.to_thread(
            ServeProcess,
            ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--start", START,
             "--mold-port", "0", "--mold-to", f"127.0.0.1:{target}"],
            cwd=ROOT,
        )  # fmt: skip
        client.request_to = ("127.0.0.1", srv.info["mold_port"])
        admin = AdminClient("127.0.0.1", srv.admin_port)
        admin.execute(SubmitOrder("A", "b1", "XTKS:7203", Side.BUY, 300, price=25000))
        admin.close()
        for _ in range(200):  # the Add Order is out
            if any(m[:1] == b"A" for m in got):
                break
            await asyncio.sleep(0.05)
        rc = await asyncio.to_thread(srv.terminate)
        done = True
        try:
            await asyncio.wait_for(client.done.wait(), 10)
        except TimeoutError:
            done = False
        client.close()
        assert done, f"no complete stream after the stop ({len(got)} messages, {client.requests} requests)"
        return client, got, rc

    client, got, rc = asyncio.run(run())
    assert rc == 0
    assert client.lost_end and client.lost_last and client.requests > 0
    assert got[-1][:1] == b"S" and got[-1][-1:] == b"C"  # End of Messages, recovered
