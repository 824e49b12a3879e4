"""WebSocket market data and executions, one class per API style, fed by the venue's listeners.

Each connection gets a queue and a sender task; the venue pushes into the queues on its own loop
turn (it runs on the same loop), so a slow client never blocks matching: its queue grows instead.
Market data is trades and a top-of-book depth picture; executions are each order's changes for
the account that owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from mocks.crypto import signing
from mocks.crypto.styles.common import Served, plain
from mocks.crypto.venue import Execution, OrderState, Trade
from system.engine.orders import Side

__all__ = ["BinanceFeeds", "CoinbaseFeeds", "OkxFeeds"]


class _Conn:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.q: asyncio.Queue[str | None] = asyncio.Queue()
        self.subs: set[tuple[str, str]] = set()  # (channel, symbol or account)

    def send(self, msg: Any) -> None:
        self.q.put_nowait(json.dumps(msg, separators=(",", ":")))


class _Feeds:
    """The connection bookkeeping every style shares."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.venue = served.venue
        self.conns: list[_Conn] = []
        self.venue.on_trade.append(self._trade)
        self.venue.on_execution.append(self._execution)

    def _ms(self, ns: int | None = None) -> int:
        return (self.venue.clock.now_ns() if ns is None else ns) // 1_000_000

    def _fan(self, key: tuple[str, str], make: Callable[[], Any]) -> None:
        msg = None
        for c in self.conns:
            if key in c.subs:
                msg = msg if msg is not None else make()
                c.send(msg)

    def _trade(self, t: Trade) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _execution(self, x: Execution) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def serve(self, ws: WebSocket, conn: _Conn, on_text: Callable[[_Conn, str], None] | None) -> None:
        """Send what the queue holds and hand what the client says to ``on_text`` until it leaves."""
        self.conns.append(conn)
        link = f"ws:{ws.client.host if ws.client else 'client'}"

        async def sender() -> None:
            while (msg := await conn.q.get()) is not None:
                self.served.record(self.served.name, link, "out", msg.encode())
                await ws.send_text(msg)

        task = asyncio.ensure_future(sender())
        try:
            while True:
                text = await ws.receive_text()
                self.served.record(self.served.name, link, "in", text.encode())
                if on_text is not None:
                    on_text(conn, text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.conns.remove(conn)
            conn.q.put_nowait(None)
            with contextlib.suppress(Exception):
                await task


class BinanceFeeds(_Feeds):
    """``/ws/<symbol>@trade``, ``/ws/<symbol>@depth5|10|20`` and ``/ws/<listenKey>`` (the user
    data stream: ``executionReport``)."""

    def __init__(self, served: Served) -> None:
        super().__init__(served)
        self.keys: dict[str, str] = {}  # listenKey -> account

    def listen_key(self, account: str) -> str:
        for k, a in self.keys.items():
            if a == account:
                return k
        # Derived, not random: the same run hands out the same keys.
        key = signing.binance(f"{self.served.name}:{self.venue.seed}", f"listen:{account}")[:60]
        self.keys[key] = account
        return key

    async def endpoint(self, ws: WebSocket, stream: str) -> None:
        await ws.accept()
        conn = _Conn(ws)
        sym, _, kind = stream.partition("@")
        if stream in self.keys:
            conn.subs.add(("user", self.keys[stream]))
        elif sym.upper() in self.venue.rules and kind in ("trade", "depth5", "depth10", "depth20"):
            conn.subs.add((kind, sym.upper()))
        else:
            await ws.close(code=1008, reason=f"Invalid stream name: {stream}")
            return
        await self.serve(ws, conn, None)

    def _trade(self, t: Trade) -> None:
        self._fan(
            ("trade", t.symbol),
            lambda: {
                "e": "trade",
                "E": self._ms(),
                "s": t.symbol,
                "t": t.trade_id,
                "p": plain(t.price),
                "q": plain(t.qty),
                "T": self._ms(t.time_ns),
                "m": t.aggressor is Side.SELL,
                "M": True,
            },
        )

    def _execution(self, x: Execution) -> None:
        o = x.order
        for n in (5, 10, 20):
            self._fan((f"depth{n}", o.symbol), lambda n=n: self._depth(o.symbol, n))  # type: ignore[misc]
        t = x.trade
        self._fan(
            ("user", o.account),
            lambda: {
                "e": "executionReport",
                "E": self._ms(),
                "s": o.symbol,
                "c": o.client_id,
                "S": o.side.value,
                "o": "LIMIT_MAKER" if o.post_only else o.type.value,
                "f": o.tif.value,
                "q": plain(o.qty),
                "p": plain(o.price or 0),
                "x": x.kind,
                "X": o.status,
                "i": o.order_id,
                "l": plain(t.qty) if t else "0",
                "z": plain(o.filled),
                "L": plain(t.price) if t else "0",
                "n": "0",
                "N": None,
                "T": self._ms(t.time_ns if t else None),
                "t": t.trade_id if t else -1,
                "w": o.open,
                "m": x.maker,
                "O": self._ms(o.time_ns),
                "Z": plain(o.quote_filled),
            },
        )

    def _depth(self, symbol: str, n: int) -> dict[str, Any]:
        bids, asks = self.venue.depth(symbol, n)
        return {
            "lastUpdateId": self.venue.system.store.head().seq,
            "bids": [[plain(p), plain(q)] for p, q in bids],
            "asks": [[plain(p), plain(q)] for p, q in asks],
        }


def _state(o: OrderState) -> str:
    return {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled"}.get(
        o.status, "canceled"
    )


class CoinbaseFeeds(_Feeds):
    """The Exchange websocket feed: ``subscribe`` to ``matches``, ``level2`` (a snapshot, then
    the top of book again after each change) and ``user`` (signed like REST, on
    ``GET /users/self/verify``)."""

    def __init__(
        self, served: Served, order_uuid: Callable[[int], str], product: Callable[[str], str]
    ) -> None:
        super().__init__(served)
        self.uuid = order_uuid
        self.product = product  # venue symbol -> product id
        self._seq = 0

    async def endpoint(self, ws: WebSocket) -> None:
        await ws.accept()
        await self.serve(ws, _Conn(ws), self._on_text)

    def _on_text(self, conn: _Conn, text: str) -> None:
        try:
            msg = json.loads(text)
            assert isinstance(msg, dict) and msg.get("type") in ("subscribe", "unsubscribe")
            products = [str(p) for p in msg.get("product_ids", [])]
            channels = [c if isinstance(c, str) else str(c.get("name")) for c in msg.get("channels", [])]
        except (ValueError, AssertionError, AttributeError, TypeError):
            conn.send({"type": "error", "message": "Failed to subscribe", "reason": "malformed message"})
            return
        bad = [p for p in products if self._symbol(p) is None]
        if bad or not channels or any(c not in ("matches", "level2", "user") for c in channels):
            reason = f"{bad[0]} is not a valid product" if bad else "invalid channel"
            conn.send({"type": "error", "message": "Failed to subscribe", "reason": reason})
            return
        account = ""
        if "user" in channels:
            p = self.served.venue.profile
            entry = p.key(str(msg.get("key", "")))
            sig = None
            if entry is not None:
                with contextlib.suppress(ValueError):
                    sig = signing.coinbase(
                        entry.secret, str(msg.get("timestamp", "")), "GET", "/users/self/verify"
                    )
            if (
                entry is None
                or sig is None
                or not signing.verify(sig, str(msg.get("signature", "")))
                or (str(msg.get("passphrase", "")) != entry.passphrase)
            ):
                conn.send(
                    {"type": "error", "message": "Authentication Failed", "reason": "invalid signature"}
                )
                return
            account = entry.account
        for prod in products:
            sym = self._symbol(prod)
            assert sym is not None
            for c in channels:
                key = (c, account if c == "user" else sym)
                if msg["type"] == "subscribe":
                    conn.subs.add(key)
                else:
                    conn.subs.discard(key)
        conn.send(
            {"type": "subscriptions", "channels": [{"name": c, "product_ids": products} for c in channels]}
        )
        if msg["type"] == "subscribe" and "level2" in channels:
            for prod in products:
                conn.send(self._book(prod, "snapshot"))

    def _symbol(self, product: str) -> str | None:
        for s in self.venue.rules:
            if self.product(s) == product:
                return s
        return None

    def _book(self, product: str, kind: str) -> dict[str, Any]:
        sym = self._symbol(product)
        assert sym is not None
        bids, asks = self.venue.depth(sym, 50)
        return {
            "type": kind,
            "product_id": product,
            "time": signing.iso_ms(self.venue.clock.now_ns()),
            "bids": [[plain(p), plain(q)] for p, q in bids],
            "asks": [[plain(p), plain(q)] for p, q in asks],
        }

    def _trade(self, t: Trade) -> None:
        self._seq += 1
        maker_side = "buy" if t.aggressor is Side.SELL else "sell"
        maker, taker = (
            (t.buy_order_id, t.sell_order_id) if maker_side == "buy" else (t.sell_order_id, t.buy_order_id)
        )
        self._fan(
            ("matches", t.symbol),
            lambda: {
                "type": "match",
                "trade_id": t.trade_id,
                "sequence": self._seq,
                "maker_order_id": self.uuid(maker),
                "taker_order_id": self.uuid(taker),
                "time": signing.iso_ms(t.time_ns),
                "product_id": self.product(t.symbol),
                "size": plain(t.qty),
                "price": plain(t.price),
                "side": maker_side,
            },
        )

    def _execution(self, x: Execution) -> None:
        o = x.order
        prod = self.product(o.symbol)
        self._fan(("level2", o.symbol), lambda: self._book(prod, "snapshot"))
        base = {
            "order_id": self.uuid(o.order_id),
            "product_id": prod,
            "side": o.side.value.lower(),
            "time": signing.iso_ms(self.venue.clock.now_ns()),
            "client_oid": o.client_id,
        }
        if x.kind == "NEW":
            msgs: list[dict[str, Any]] = [
                base
                | {
                    "type": "received",
                    "order_type": o.type.value.lower(),
                    "size": plain(o.qty),
                    "price": plain(o.price) if o.price is not None else None,
                }
            ]
            if o.open and o.type.value == "LIMIT":
                msgs.append(base | {"type": "open", "remaining_size": plain(o.qty - o.filled)})
        elif x.kind == "TRADE" and x.trade is not None:
            msgs = [
                base
                | {
                    "type": "match",
                    "trade_id": x.trade.trade_id,
                    "size": plain(x.trade.qty),
                    "price": plain(x.trade.price),
                    "liquidity": "M" if x.maker else "T",
                }
            ]
            if o.status == "FILLED":
                msgs.append(base | {"type": "done", "reason": "filled", "remaining_size": "0"})
        else:
            msgs = [base | {"type": "done", "reason": "canceled", "remaining_size": plain(o.qty - o.filled)}]
        for m in msgs:
            self._fan(("user", o.account), lambda m=m: m)  # type: ignore[misc]


class OkxFeeds(_Feeds):
    """``/ws/v5/public`` (``trades``, ``books5``) and ``/ws/v5/private`` (``login``, then
    ``orders``), in OKX's ``{"op", "args"}`` / ``{"arg", "data"}`` envelopes."""

    def __init__(self, served: Served, inst_id: Callable[[str], str]) -> None:
        super().__init__(served)
        self.inst_id = inst_id
        self._logged: dict[int, str] = {}  # id(conn) -> account

    async def public(self, ws: WebSocket) -> None:
        await ws.accept()
        await self.serve(ws, _Conn(ws), lambda c, t: self._on_text(c, t, private=False))

    async def private(self, ws: WebSocket) -> None:
        await ws.accept()
        conn = _Conn(ws)
        try:
            await self.serve(ws, conn, lambda c, t: self._on_text(c, t, private=True))
        finally:
            self._logged.pop(id(conn), None)

    def _symbol(self, inst: str) -> str | None:
        for s in self.venue.rules:
            if self.inst_id(s) == inst:
                return s
        return None

    def _on_text(self, conn: _Conn, text: str, *, private: bool) -> None:
        if text == "ping":
            conn.q.put_nowait("pong")
            return
        try:
            msg = json.loads(text)
            op = msg["op"]
            args = [dict(a) for a in msg["args"]]
        except (ValueError, KeyError, TypeError):
            conn.send({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:200]}"})
            return
        if op == "login" and private and args:
            a = args[0]
            entry = self.venue.profile.key(str(a.get("apiKey", "")))
            want = (
                signing.okx(entry.secret, str(a.get("timestamp", "")), "GET", "/users/self/verify")
                if entry
                else ""
            )
            if (
                entry is None
                or not signing.verify(want, str(a.get("sign", "")))
                or a.get("passphrase") != entry.passphrase
            ):
                conn.send({"event": "error", "code": "60009", "msg": "Login failed."})
                return
            self._logged[id(conn)] = entry.account
            conn.send({"event": "login", "code": "0", "msg": ""})
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:200]}"})
            return
        for a in args:
            ch = a.get("channel")
            if private and ch == "orders":
                account = self._logged.get(id(conn))
                if account is None:
                    conn.send({"event": "error", "code": "60011", "msg": "Please log in"})
                    return
                key = ("orders", account)
            elif (
                not private and ch in ("trades", "books5") and self._symbol(str(a.get("instId"))) is not None
            ):
                key = (str(ch), str(self._symbol(str(a.get("instId")))))
            else:
                conn.send(
                    {
                        "event": "error",
                        "code": "60018",
                        "msg": f"Wrong URL or channel:{ch},instId:{a.get('instId')} doesn't exist.",
                    }
                )
                return
            (conn.subs.add if op == "subscribe" else conn.subs.discard)(key)
            conn.send({"event": op, "arg": a})

    def _trade(self, t: Trade) -> None:
        inst = self.inst_id(t.symbol)
        self._fan(
            ("trades", t.symbol),
            lambda: {
                "arg": {"channel": "trades", "instId": inst},
                "data": [
                    {
                        "instId": inst,
                        "tradeId": str(t.trade_id),
                        "px": plain(t.price),
                        "sz": plain(t.qty),
                        "side": "sell" if t.aggressor is Side.SELL else "buy",
                        "ts": str(self._ms(t.time_ns)),
                    }
                ],
            },
        )

    def _execution(self, x: Execution) -> None:
        o = x.order
        inst = self.inst_id(o.symbol)

        def books() -> dict[str, Any]:
            bids, asks = self.venue.depth(o.symbol, 5)
            return {
                "arg": {"channel": "books5", "instId": inst},
                "data": [
                    {
                        "asks": [[plain(p), plain(q), "0", "1"] for p, q in asks],
                        "bids": [[plain(p), plain(q), "0", "1"] for p, q in bids],
                        "instId": inst,
                        "ts": str(self._ms()),
                        "seqId": self.venue.system.store.head().seq,
                    }
                ],
            }

        self._fan(("books5", o.symbol), books)
        t = x.trade
        avg = o.quote_filled / o.filled if o.filled else 0
        self._fan(
            ("orders", o.account),
            lambda: {
                "arg": {"channel": "orders", "instType": "SPOT"},
                "data": [
                    {
                        "instType": "SPOT",
                        "instId": inst,
                        "ordId": str(o.order_id),
                        "clOrdId": o.client_id,
                        "px": plain(o.price) if o.price is not None else "",
                        "sz": plain(o.qty),
                        "ordType": "post_only" if o.post_only else o.type.value.lower(),
                        "side": o.side.value.lower(),
                        "state": _state(o),
                        "accFillSz": plain(o.filled),
                        "avgPx": plain(avg) if o.filled else "",
                        "fillPx": plain(t.price) if t else "",
                        "fillSz": plain(t.qty) if t else "0",
                        "tradeId": str(t.trade_id) if t else "",
                        "execType": ("M" if x.maker else "T") if t else "",
                        "cTime": str(self._ms(o.time_ns)),
                        "uTime": str(self._ms()),
                    }
                ],
            },
        )
