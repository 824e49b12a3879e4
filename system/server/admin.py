"""The admin channel: clock control, any command, queries and the log, over a small TCP socket.

Wire format: each frame is a 4-byte big-endian length and a msgpack map. A request is
``{"op": NAME, ...}``; the answer is ``{"ok": true, ...}`` or ``{"ok": false, "error": TEXT}``.
Records travel as ``{"type": name, "v": schema version, "payload": canonical msgpack}``, log
entries as ``[body, prev_hash, hash]`` (the stored canonical body, so a client can verify them),
views as their msgpack. Nothing here is Python-specific: any client that speaks msgpack can drive
a server, which is what the BDD ``fix`` driver and the later REST gateway do.

Ops (see docs/serve.md for the table): now, set, advance, run_until, run_until_phase, execute,
events, head, book, phase, order, open_orders, add_venue, snapshot, reset, ping, status.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from system.engine import BookView, OrderView, Phase
from system.eventlog.codec import LoggedEvent, decode_entry, encode_body, encode_record
from system.eventlog.records import Command, Record, UnknownRecordType, lookup
from system.server.clockmode import ClockModeError
from system.server.server import Server

MAX_FRAME = 64 << 20
_LEN = struct.Struct(">I")
_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder()


class AdminError(Exception):
    """The server refused an admin request; the message says why."""


def pack_record(rec: Record) -> dict[str, Any]:
    return {"type": rec.name, "v": rec.version, "payload": encode_record(rec)}


def unpack_record(d: dict[str, Any]) -> Record:
    return lookup(str(d["type"])).decode(bytes(d["payload"]), int(d.get("v", 1)))


def pack_entry(ev: LoggedEvent) -> list[bytes]:
    body = encode_body(
        ev.seq,
        ev.stream,
        ev.stream_version,
        ev.record,
        ev.valid_time,
        ev.recorded_time,
        ev.correlation_id,
        ev.causation_id,
    )
    return [body, ev.prev_hash, ev.hash]


def unpack_entry(e: list[bytes]) -> LoggedEvent:
    return decode_entry(bytes(e[0]), bytes(e[1]), bytes(e[2]))


def frame(obj: Any) -> bytes:
    data = _enc.encode(obj)
    return _LEN.pack(len(data)) + data


Handler = Callable[[Server, dict[str, Any]], Awaitable[dict[str, Any]]]
OPS: dict[str, Handler] = {}


def op(name: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        OPS[name] = fn
        return fn

    return deco


for _clock_op in ("now", "set", "advance", "run_until"):

    def _make(name: str) -> Handler:
        async def h(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
            args = () if name == "now" else (int(req["t"]),)
            return {"now": await srv.clock(name, *args)}

        return h

    OPS[_clock_op] = _make(_clock_op)


@op("run_until_phase")
async def _run_until_phase(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    return {"now": await srv.clock("run_until_phase", str(req["venue"]), str(req["phase"]))}


@op("execute")
async def _execute(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    cmd = unpack_record(req["command"])
    if not isinstance(cmd, Command):
        raise AdminError(f"{cmd.name} is not a command")
    seq = srv.sequencer
    session = str(req.get("session") or "admin")
    client_id = req.get("id")
    res = await seq.call(session, None if client_id is None else str(client_id), cmd)
    if res.error is not None:
        raise AdminError(res.error)
    return {"seq": res.seq, "duplicate": res.duplicate, "events": [pack_entry(e) for e in res.events]}


@op("events")
async def _events(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    await srv.sequencer.call_control(lambda: None)  # everything queued before is logged
    start = int(req.get("from", 1))
    limit = int(req.get("limit", 100_000))
    out = []
    for ev in srv.host.store.read(start):
        out.append(pack_entry(ev))
        if len(out) >= limit:
            break
    return {"events": out}


@op("head")
async def _head(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    h = srv.host.store.head()
    return {"seq": h.seq, "hash": h.hash}


@op("book")
async def _book(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    return {"book": _enc.encode(srv.sequencer.book(str(req["instrument"])))}


@op("phase")
async def _phase(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    return {"phase": str(srv.sequencer.phase(str(req["instrument"])))}


@op("order")
async def _order(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    o = srv.sequencer.order(int(req["order_id"]))
    return {"order": None if o is None else _enc.encode(o)}


@op("open_orders")
async def _open_orders(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    orders = srv.sequencer.open_orders(req.get("account"), req.get("instrument"))
    return {"orders": [_enc.encode(o) for o in orders]}


@op("book_history")
async def _book_history(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    points = srv.host.book_history(str(req["instrument"]))
    return {"points": [[seq, t, _enc.encode(book)] for seq, t, book in points]}


@op("add_venue")
async def _add_venue(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    await srv.sequencer.call_control(lambda: srv.host.add_venue(str(req["venue"])))
    return {}


@op("snapshot")
async def _snapshot(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    return {"seq": await srv.sequencer.call_control(srv.host.snapshot)}


@op("reset")
async def _reset(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    await srv.reset(dict(req["spec"]))
    fix = srv.gateways.get("fix")
    if fix is not None and hasattr(fix, "install_faults"):
        fix.install_faults(None)  # a scenario's faults end with it
    return {"now": srv.mode.now_ns()}


def _fix(srv: Server) -> Any:
    fix = srv.gateways.get("fix")
    if fix is None or not hasattr(fix, "install_faults"):
        raise AdminError("this server has no FIX order-entry gateway (start it with --fix-port)")
    return fix


@op("faults")
async def _faults(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    """Install a fault plan on the FIX gateway (the TOML's shape: ``{"fault": [...]}``); an empty
    plan removes the faults. Answers how many it holds and what the previous plan fired."""
    from system.gateways.fix.faults import parse_faults

    fix = _fix(srv)
    plan = dict(req["plan"])
    old = fix.faults
    fix.install_faults(parse_faults(plan, fix.clock, "admin faults") if plan.get("fault") else None)
    return {"faults": len(plan.get("fault", [])), "fired": list(old.fired) if old is not None else []}


@op("fix_status")
async def _fix_status(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    """The FIX sessions' states and sequence numbers, and what the fault plan has fired."""
    fix = _fix(srv)
    plan = fix.faults
    return {
        "sessions": fix.status(),
        "fired": list(plan.fired) if plan is not None else [],
        "held": plan.held() if plan is not None else 0,  # messages a delay holds back
    }


@op("ping")
async def _ping(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    return {**srv.info, "clock": srv.mode.name, "allow_reset": srv.can_reset}


@op("status")
async def _status(srv: Server, req: dict[str, Any]) -> dict[str, Any]:
    """Components, gateways, subscribers and their lag (``chronex serve --status``)."""
    from system.telemetry.status import status_of

    return status_of(srv)


_EXPECTED = (
    AdminError,
    ClockModeError,
    UnknownRecordType,
    KeyError,
    ValueError,
    TypeError,
    LookupError,
    msgspec.DecodeError,
    msgspec.ValidationError,
)


async def answer(srv: Server, req: Any) -> dict[str, Any]:
    """One request's answer; every refusal becomes ``ok: false`` with a reason, never a crash."""
    if not isinstance(req, dict):
        return {"ok": False, "error": "a request is a msgpack map with an 'op'"}
    fn = OPS.get(str(req.get("op")))
    if fn is None:
        return {"ok": False, "error": f"unknown op {req.get('op')!r} (known: {', '.join(sorted(OPS))})"}
    try:
        res = await fn(srv, req)
    except KeyError as e:
        return {"ok": False, "error": f"{req['op']}: missing field {e.args[0]!r}"}
    except _EXPECTED as e:
        return {"ok": False, "error": str(e) or type(e).__name__}
    res["ok"] = True
    return res


class AdminServer:
    """Serves the admin channel on ``host:port`` (port 0: any free one, then ``.port``)."""

    def __init__(self, server: Server, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = server
        self.host = host
        self.port = port
        self._srv: asyncio.Server | None = None

    async def start(self) -> None:
        self._srv = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._srv.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._srv is not None:
            self._srv.close()
            await self._srv.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(4)
                (n,) = _LEN.unpack(head)
                if n > MAX_FRAME:
                    writer.write(frame({"ok": False, "error": f"frame of {n} bytes is over {MAX_FRAME}"}))
                    break
                body = await reader.readexactly(n)
                try:
                    req = _dec.decode(body)
                except msgspec.DecodeError as e:
                    writer.write(frame({"ok": False, "error": f"not msgpack: {e}"}))
                    break
                writer.write(frame(await answer(self.server, req)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class AdminClient:
    """A blocking client of the admin channel (steps are synchronous)."""

    def __init__(self, host: str, port: int, *, timeout: float = 60.0) -> None:
        # Every record type a build can log must be known here to decode the server's entries:
        # the composition root registers them all when imported.
        import system.bootstrap  # noqa: F401

        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        self.sock.sendall(frame({"op": op, **fields}))
        head = self._read(4)
        (n,) = _LEN.unpack(head)
        res: dict[str, Any] = _dec.decode(self._read(n))
        if not res.get("ok"):
            raise AdminError(str(res.get("error")))
        return res

    def _read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise AdminError("the server closed the admin connection")
            buf += chunk
        return bytes(buf)

    # -- typed helpers ---------------------------------------------------------------------------
    def execute(
        self, command: Command, *, session: str = "admin", id: str | None = None
    ) -> list[LoggedEvent]:
        req: dict[str, Any] = {"command": pack_record(command), "session": session}
        if id is not None:
            req["id"] = id
        return [unpack_entry(e) for e in self.call("execute", **req)["events"]]

    def events(self, from_seq: int = 1) -> list[LoggedEvent]:
        return [unpack_entry(e) for e in self.call("events", **{"from": from_seq})["events"]]

    def book(self, instrument: str) -> BookView:
        return msgspec.msgpack.decode(self.call("book", instrument=instrument)["book"], type=BookView)

    def phase(self, instrument: str) -> Phase:
        return Phase(self.call("phase", instrument=instrument)["phase"])

    def order(self, order_id: int) -> OrderView | None:
        o = self.call("order", order_id=order_id)["order"]
        return None if o is None else msgspec.msgpack.decode(o, type=OrderView)

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        res = self.call("open_orders", account=account, instrument=instrument)
        return [msgspec.msgpack.decode(o, type=OrderView) for o in res["orders"]]

    def now(self) -> int:
        return int(self.call("now")["now"])

    def close(self) -> None:
        self.sock.close()
