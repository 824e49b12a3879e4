"""The REST gateway's connections send small responses at once: TCP_NODELAY is on for every
accepted socket, so a response's body never waits behind its headers for the client's delayed
ACK (it did: 40 ms a request)."""

from __future__ import annotations

import asyncio
import socket

from tests.integration.rest_kit import served


def test_accepted_rest_connections_have_nodelay() -> None:
    """A connection accepted by the REST listener has TCP_NODELAY set and answers a request."""

    async def main() -> None:
        server, gw = served()
        await server.start()
        await gw.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
            writer.write(b"GET /v1/venues HTTP/1.1\r\nHost: x\r\nX-API-Key: k-trader\r\n\r\n")
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 30)
            assert status.startswith(b"HTTP/1.1 200")
            assert gw._uvicorn is not None
            conns = list(gw._uvicorn.server_state.connections)
            assert conns
            for proto in conns:
                sock = proto.transport.get_extra_info("socket")
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            writer.close()
        finally:
            await gw.stop()
            await server.stop()

    asyncio.run(main())
