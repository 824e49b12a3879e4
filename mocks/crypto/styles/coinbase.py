"""The Coinbase Exchange REST style, as its public API documentation describes it:

- private requests carry ``CB-ACCESS-KEY``, ``CB-ACCESS-SIGN`` (base64 HMAC-SHA256 of
  ``timestamp + METHOD + requestPath + body``, keyed by the base64-decoded secret),
  ``CB-ACCESS-TIMESTAMP`` (seconds since the epoch) and ``CB-ACCESS-PASSPHRASE``;
- errors are ``{"message": "..."}`` with 400 (bad request), 401 (authentication), 404
  (``NotFound``) and 429 (``Private rate limit exceeded``);
- orders are JSON (``product_id``, ``side``, ``type``, ``size``, ``price``, ``client_oid``,
  ``time_in_force``, ``post_only``), ids are UUIDs, statuses ``open``/``done``/``pending``;
- product precision is ``quote_increment``/``base_increment``, refused as "price is too
  accurate", "size is too accurate", "size is too small".
"""

from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import Response

from mocks.crypto import signing
from mocks.crypto.styles import wsfeeds
from mocks.crypto.styles.common import Served, dec, plain
from mocks.crypto.venue import OrderState, Refusal
from system.engine.orders import OrderType, Side, TimeInForce

__all__ = ["ORDER_SCHEMA", "build_app"]

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "product_id": {"type": "string"},
        "side": {"type": "string", "enum": ["buy", "sell"]},
        "type": {"type": "string", "enum": ["limit", "market"]},
        "size": {"type": "string"},
        "price": {"type": "string"},
        "client_oid": {"type": "string"},
        "time_in_force": {"type": "string", "enum": ["GTC", "IOC", "FOK"]},
        "post_only": {"type": "boolean"},
    },
    "required": ["product_id", "side", "size"],
}


class CoinbaseError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def build_app(served: Served) -> FastAPI:
    venue, profile = served.venue, served.venue.profile
    app = FastAPI(title=f"{profile.name} (Coinbase-Exchange-style API mock)", version="1")
    app.state.served = served
    uuids: dict[str, int] = {}

    def order_uuid(oid: int) -> str:
        digest = hashlib.sha256(f"{profile.name}:{venue.seed}:{oid}".encode()).digest()[:16]
        u = str(uuid.UUID(bytes=digest, version=4))
        uuids[u] = oid
        return u

    def order_json(o: OrderState) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": order_uuid(o.order_id),
            "size": plain(o.qty),
            "product_id": o.symbol,
            "side": o.side.value.lower(),
            "type": o.type.value.lower(),
            "post_only": o.post_only,
            "created_at": signing.iso_ms(o.time_ns),
            "fill_fees": "0",
            "filled_size": plain(o.filled),
            "executed_value": plain(o.quote_filled),
            "status": "open" if o.open else "done",
            "settled": not o.open,
        }
        if o.price is not None:
            out["price"] = plain(o.price)
            out["time_in_force"] = o.tif.value
        if o.client_id and not o.client_id.startswith(f"{profile.name}-"):
            out["client_oid"] = o.client_id
        if not o.open:
            out["done_at"] = signing.iso_ms(o.done_ns or o.time_ns)
            out["done_reason"] = "filled" if o.status == "FILLED" else "canceled"
        return out

    async def call(request: Request, private: bool, handler: Any) -> Response:
        body = await request.body()
        key = request.headers.get("CB-ACCESS-KEY", "")
        who = f"key:{key}" if private and key else (request.client.host if request.client else "client")
        adm = served.limiter.admit(who, 1)
        try:
            if not adm.allowed:
                raise CoinbaseError(
                    429, "Private rate limit exceeded" if private else "Public rate limit exceeded"
                )
            account = _authenticate(request, body) if private else ""
            status, content = handler(body, account)
        except CoinbaseError as e:
            status, content = e.status, {"message": e.message}
        return served.json(request, body, status, content)

    def _authenticate(request: Request, body: bytes) -> str:
        h = request.headers
        for name in ("CB-ACCESS-KEY", "CB-ACCESS-SIGN", "CB-ACCESS-TIMESTAMP", "CB-ACCESS-PASSPHRASE"):
            if not h.get(name):
                raise CoinbaseError(400, f"{name} header is required")
        entry = profile.key(h["CB-ACCESS-KEY"])
        if entry is None:
            raise CoinbaseError(401, "Invalid API Key")
        ts = dec(h["CB-ACCESS-TIMESTAMP"])
        if ts is None:
            raise CoinbaseError(400, "invalid timestamp")
        now_s = Decimal(venue.clock.now_ns()) / 1_000_000_000
        if abs(now_s - ts) * 1000 > profile.recv_window_ms:
            raise CoinbaseError(400, "request timestamp expired")
        if h["CB-ACCESS-PASSPHRASE"] != entry.passphrase:
            raise CoinbaseError(401, "invalid passphrase")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        want = signing.coinbase(
            entry.secret, h["CB-ACCESS-TIMESTAMP"], request.method, target, body.decode("utf-8", "replace")
        )
        if not signing.verify(want, h["CB-ACCESS-SIGN"]):
            raise CoinbaseError(401, "invalid signature")
        return entry.account

    def product(pid: str) -> str:
        if pid not in venue.rules:
            raise (
                CoinbaseError(400, "Invalid product_id")
                if pid
                else CoinbaseError(400, "product_id is required")
            )
        return pid

    def lookup(account: str, order_id: str) -> OrderState:
        try:
            if order_id.startswith("client:"):
                return venue.find(account, None, None, order_id[7:])
            oid = uuids.get(order_id)
            return venue.find(account, None, oid if oid is not None else -1)
        except Refusal:
            raise CoinbaseError(404, "NotFound") from None

    # -- public ---------------------------------------------------------------------------------
    @app.get("/time")
    async def time(request: Request) -> Response:
        def h(b: bytes, a: str) -> tuple[int, Any]:
            ns = venue.clock.now_ns()
            return 200, {"iso": signing.iso_ms(ns), "epoch": ns // 1_000_000 / 1000}

        return await call(request, False, h)

    @app.get("/products")
    async def products(request: Request) -> Response:
        def h(b: bytes, a: str) -> tuple[int, Any]:
            return 200, [
                {
                    "id": s.symbol,
                    "base_currency": s.base,
                    "quote_currency": s.quote,
                    "quote_increment": plain(s.tick),
                    "base_increment": plain(s.lot),
                    "base_min_size": plain(s.min_qty),
                    "min_market_funds": plain(s.min_notional),
                    "display_name": s.symbol.replace("-", "/"),
                    "status": "online",
                    "trading_disabled": False,
                }
                for s in profile.symbols
            ]

        return await call(request, False, h)

    @app.get("/products/{product_id}/book")
    async def book(request: Request, product_id: str, level: str | None = None) -> Response:
        def h(b: bytes, a: str) -> tuple[int, Any]:
            if level not in (None, "1", "2"):
                raise CoinbaseError(400, "Invalid level")
            try:
                bids, asks = venue.depth(product_id, 1 if level in (None, "1") else 50)
            except Refusal:
                raise CoinbaseError(404, "NotFound") from None
            return 200, {
                "bids": [[plain(p), plain(q), 1] for p, q in bids],
                "asks": [[plain(p), plain(q), 1] for p, q in asks],
                "sequence": venue.system.store.head().seq,
                "time": signing.iso_ms(venue.clock.now_ns()),
            }

        return await call(request, False, h)

    # -- private --------------------------------------------------------------------------------
    @app.post(
        "/orders",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": ORDER_SCHEMA}}}
        },
    )
    async def new_order(
        request: Request, cb_access_key: str | None = Header(None, alias="CB-ACCESS-KEY")
    ) -> Response:
        def h(b: bytes, account: str) -> tuple[int, Any]:
            try:
                msg = json.loads(b)
            except ValueError:
                raise CoinbaseError(400, "Invalid JSON") from None
            if not isinstance(msg, dict):
                raise CoinbaseError(400, "Invalid JSON")
            pid = product(_text(msg, "product_id"))
            side = _text(msg, "side")
            if side not in ("buy", "sell"):
                raise CoinbaseError(400, "Invalid side" if side else "side is required")
            typ = _text(msg, "type") or "limit"
            if typ not in ("limit", "market"):
                raise CoinbaseError(400, "Invalid order type")
            rule = venue.rule(pid)
            size = _amount(msg, "size")
            price = _amount(msg, "price") if typ == "limit" else None
            tif = _text(msg, "time_in_force") or "GTC"
            if tif not in ("GTC", "IOC", "FOK"):
                raise CoinbaseError(400, "Invalid time_in_force")
            post_only = msg.get("post_only", False)
            if not isinstance(post_only, bool):
                raise CoinbaseError(400, "Invalid post_only")
            cid = _text(msg, "client_oid")
            if cid:
                try:
                    uuid.UUID(cid)
                except ValueError:
                    raise CoinbaseError(400, "Invalid client_oid") from None
            try:
                o = venue.place(
                    account,
                    pid,
                    Side(side.upper()),
                    OrderType(typ.upper()),
                    size,
                    price,
                    tif=TimeInForce(tif),
                    client_id=cid,
                    post_only=post_only,
                )
            except Refusal as r:
                raise _refusal(r, rule.tick, rule.lot, rule.min_qty, rule.min_notional) from None
            return 200, order_json(o)

        return await call(request, True, h)

    @app.get("/orders/{order_id}")
    async def get_order(
        request: Request, order_id: str, cb_access_key: str | None = Header(None, alias="CB-ACCESS-KEY")
    ) -> Response:
        return await call(request, True, lambda b, account: (200, order_json(lookup(account, order_id))))

    @app.delete("/orders/{order_id}")
    async def cancel(
        request: Request, order_id: str, cb_access_key: str | None = Header(None, alias="CB-ACCESS-KEY")
    ) -> Response:
        def h(b: bytes, account: str) -> tuple[int, Any]:
            o = lookup(account, order_id)
            try:
                venue.cancel(account, o.symbol, o.order_id)
            except Refusal:
                raise CoinbaseError(404, "NotFound") from None
            return 200, order_uuid(o.order_id)

        return await call(request, True, h)

    @app.get("/orders")
    async def list_orders(
        request: Request,
        product_id: str | None = None,
        cb_access_key: str | None = Header(None, alias="CB-ACCESS-KEY"),
    ) -> Response:
        def h(b: bytes, account: str) -> tuple[int, Any]:
            sym = product(product_id) if product_id is not None else None
            return 200, [order_json(o) for o in venue.open_orders(account, sym)]

        return await call(request, True, h)

    feeds = wsfeeds.CoinbaseFeeds(served, order_uuid, lambda s: s)
    app.add_api_websocket_route("/ws", feeds.endpoint)
    return app


def _text(msg: dict[str, Any], name: str) -> str:
    v = msg.get(name, "")
    if not isinstance(v, str):
        raise CoinbaseError(400, f"Invalid {name}")
    return v


def _amount(msg: dict[str, Any], name: str) -> Decimal:
    v = _text(msg, name)
    if not v:
        raise CoinbaseError(400, f"{name} is required")
    d = dec(v)
    if d is None:
        raise CoinbaseError(400, f"Invalid {name}")
    return d


def _fmt8(d: Decimal) -> str:
    return f"{d:.8f}"


def _refusal(
    r: Refusal, tick: Decimal, lot: Decimal, min_qty: Decimal, min_notional: Decimal
) -> CoinbaseError:
    if r.kind == "price_tick":
        return CoinbaseError(400, f"price is too accurate. Smallest unit is {_fmt8(tick)}")
    if r.kind == "qty_lot":
        return CoinbaseError(400, f"size is too accurate. Smallest unit is {_fmt8(lot)}")
    if r.kind in ("min_qty", "bad_qty"):
        return CoinbaseError(400, f"size is too small. Minimum size is {_fmt8(min_qty)}")
    if r.kind == "bad_price":
        return CoinbaseError(400, "price is too small. Minimum price is " + _fmt8(tick))
    if r.kind == "min_notional":
        return CoinbaseError(400, f"funds is too small. Minimum funds is {plain(min_notional)}")
    if r.kind == "post_only":
        return CoinbaseError(400, "Post only mode")
    if r.kind == "duplicate_order":
        return CoinbaseError(400, "duplicate client_oid")
    return CoinbaseError(400, r.text)
