"""Streams over WebSocket and Server-Sent Events, resumable from a seq.

Each connection is its own ``Subscriber`` on the sequencer (the subscription seam): its position
starts at the client's ``from_seq`` (SSE: also ``Last-Event-ID``), the log fills in what the client
missed, then live entries follow, gapless and in order. Every message carries its ``seq``; a client
that reconnects with the last seq it saw gets nothing twice and misses nothing.

- ``/v1/streams/accounts/{account}``: the account's order events, its fills and its account
  events (MarginWarning, MarginCall, KillSwitch...);
- ``/v1/streams/instruments/{instrument}``: the book's events (orders, trades, phases); a trader
  sees other accounts' names blanked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Security, WebSocket, WebSocketException, status
from fastapi.responses import StreamingResponse

from system.eventlog.codec import LoggedEvent
from system.gateways.rest.convert import iso
from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey, Role
from system.gateways.rest.problems import PROBLEMS, Problem
from system.gateways.rest.render import event_payload
from system.gateways.rest.routes.deps import gateway
from system.gateways.rest.security import EVERYONE, allow, check_account

router = APIRouter(prefix="/v1/streams", tags=["streams"], responses=PROBLEMS)
Gw = Annotated[RestGateway, Depends(gateway)]
Anyone = Annotated[ApiKey, Security(allow(*EVERYONE))]
Filter = Callable[[LoggedEvent], dict[str, Any] | None]
_ACCOUNT_FIELDS = ("account", "buy_account", "sell_account")


def message(ev: LoggedEvent, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "type": ev.type,
        "time": iso(ev.valid_time),
        "time_ns": ev.valid_time,
        "payload": payload,
    }


def account_filter(account: str) -> Filter:
    book_types = {
        "OrderAccepted", "OrderRejected", "OrderCancelled", "OrderExpired", "OrderReplaced",
        "OrderReduced", "StopTriggered",
    }  # fmt: skip
    account_stream = f"account/{account}"

    def pick(ev: LoggedEvent) -> dict[str, Any] | None:
        t = ev.type
        if ev.stream == account_stream:
            return message(ev, event_payload(ev))
        rec: Any = ev.record
        if t == "TradeExecuted":
            if account in (rec.buy_account, rec.sell_account):
                return message(ev, _blank(event_payload(ev), frozenset((account,))))
            return None
        if t in book_types and getattr(rec, "account", None) == account:
            return message(ev, event_payload(ev))
        return None

    return pick


def instrument_filter(instrument: str, visible: frozenset[str] | None) -> Filter:
    stream = f"book/{instrument}"

    def pick(ev: LoggedEvent) -> dict[str, Any] | None:
        if ev.stream != stream or ev.record.kind == "command":
            return None
        p = event_payload(ev)
        return message(ev, p if visible is None else _blank(p, visible))

    return pick


def _blank(p: dict[str, Any], visible: frozenset[str]) -> dict[str, Any]:
    for k in _ACCOUNT_FIELDS:
        if k in p and p[k] not in visible:
            p[k] = None
            if k == "account":
                p.pop("client_order_id", None)
    return p


class Follower:
    """One stream's subscriber: filters what the log appends into the connection's queue."""

    def __init__(self, name: str, from_seq: int, pick: Filter, queue: asyncio.Queue[Any]) -> None:
        self.name = name
        self._pos = from_seq
        self._pick = pick
        self._queue = queue

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        pick, put = self._pick, self._queue.put_nowait
        for ev in batch:
            m = pick(ev)
            if m is not None:
                put(m)
        self._pos = batch[-1].seq


@contextlib.asynccontextmanager
async def follow(
    gw: RestGateway, name: str, from_seq: int | None, pick: Filter
) -> AsyncIterator[asyncio.Queue[Any]]:
    """A queue of the stream's messages, from ``from_seq + 1`` (None: from now)."""
    seq = gw.sequencer
    head = seq.store.head().seq
    start = head if from_seq is None else min(from_seq, head)
    with gw.stream() as q:
        sub = seq.subscribe(Follower(name, start, pick, q), catch_up=True)
        try:
            yield q
        finally:
            seq.unsubscribe(sub)


def _account_stream(gw: RestGateway, who: ApiKey, account: str) -> Filter:
    check_account(who, account)
    return account_filter(account)


def _instrument_stream(gw: RestGateway, who: ApiKey, instrument: str) -> Filter:
    inst = gw.instrument(instrument)
    vis = frozenset(who.accounts) if who.role is Role.TRADER else None
    return instrument_filter(inst.id, vis)


# -- WebSocket -------------------------------------------------------------------------------------
async def _ws(
    ws: WebSocket, build: Callable[[RestGateway, ApiKey, str], Filter], key: str, from_seq: int | None
) -> None:
    gw: RestGateway = ws.app.state.gateway
    token = ws.headers.get("x-api-key") or ws.query_params.get("api_key")
    who = gw.keys.get(token or "")
    if who is None:
        raise WebSocketException(
            status.WS_1008_POLICY_VIOLATION, "no valid API key (X-API-Key header or api_key)"
        )
    try:
        pick = build(gw, who, key)
    except Problem as e:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, e.detail) from None
    await ws.accept()
    async with follow(gw, f"ws-{who.name}", from_seq, pick) as q:
        closed = asyncio.ensure_future(_until_closed(ws))
        try:
            while True:
                got = asyncio.ensure_future(q.get())
                done, _ = await asyncio.wait({got, closed}, return_when=asyncio.FIRST_COMPLETED)
                if closed in done:
                    got.cancel()
                    return
                msg = got.result()
                if msg is None:  # the server reset or is stopping
                    await ws.close(status.WS_1001_GOING_AWAY)
                    return
                await ws.send_text(json.dumps(msg))
        finally:
            closed.cancel()


async def _until_closed(ws: WebSocket) -> None:
    while True:
        m = await ws.receive()
        if m["type"] == "websocket.disconnect":
            return


@router.websocket("/accounts/{account}")
async def ws_account(
    ws: WebSocket, account: str, from_seq: Annotated[int | None, Query(ge=0)] = None
) -> None:
    await _ws(ws, _account_stream, account, from_seq)


@router.websocket("/instruments/{instrument:path}")
async def ws_instrument(
    ws: WebSocket, instrument: str, from_seq: Annotated[int | None, Query(ge=0)] = None
) -> None:
    await _ws(ws, _instrument_stream, instrument, from_seq)


# -- Server-Sent Events ----------------------------------------------------------------------------
def _sse(gw: RestGateway, name: str, from_seq: int | None, pick: Filter) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        async with follow(gw, name, from_seq, pick) as q:
            yield ": chronex stream\n\n"
            while True:
                try:
                    msg = await asyncio.wait_for(q.get(), 15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if msg is None:
                    return
                yield f"id: {msg['seq']}\nevent: {msg['type']}\ndata: {json.dumps(msg)}\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _resume(from_seq: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise Problem(400, f"Last-Event-ID {last_event_id!r} is not a seq", field="Last-Event-ID")
        return int(last_event_id)
    return from_seq


_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "events, one per log entry, id = seq"}
}


@router.get(
    "/accounts/{account}/sse",
    response_class=StreamingResponse,
    responses=_SSE,
    summary="An account's events (SSE)",
)
async def sse_account(
    account: str,
    gw: Gw,
    who: Anyone,
    from_seq: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    pick = _account_stream(gw, who, account)
    return _sse(gw, f"sse-{who.name}", _resume(from_seq, last_event_id), pick)


@router.get(
    "/instruments/{instrument:path}/sse",
    response_class=StreamingResponse,
    responses=_SSE,
    summary="A book's events (SSE)",
)
async def sse_instrument(
    instrument: str,
    gw: Gw,
    who: Anyone,
    from_seq: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    pick = _instrument_stream(gw, who, instrument)
    return _sse(gw, f"sse-{who.name}", _resume(from_seq, last_event_id), pick)
