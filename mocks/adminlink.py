"""An asyncio client of ``chronex serve``'s admin channel (4-byte length + msgpack frames), for
mocks that ask a served venue for its phase without blocking their loop."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import msgspec

__all__ = ["AdminLink"]

_LEN = struct.Struct(">I")


class AdminLink:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self._rw: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request; raises ``ConnectionError`` when the server is gone or refuses."""
        async with self._lock:
            if self._rw is None:
                self._rw = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._rw
            data = msgspec.msgpack.encode({"op": op, **fields})
            writer.write(_LEN.pack(len(data)) + data)
            try:
                (n,) = _LEN.unpack(await reader.readexactly(4))
                res: dict[str, Any] = msgspec.msgpack.decode(await reader.readexactly(n))
            except (asyncio.IncompleteReadError, OSError) as e:
                self._rw = None
                raise ConnectionError(f"admin channel {self.host}:{self.port} closed") from e
            if not res.get("ok"):
                raise ConnectionError(str(res.get("error")))
            return res

    async def close(self) -> None:
        if self._rw is not None:
            _, writer = self._rw
            writer.close()
            self._rw = None
