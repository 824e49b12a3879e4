"""The OKX v5 REST style, as its public API documentation describes it:

- private requests carry ``OK-ACCESS-KEY``, ``OK-ACCESS-SIGN`` (base64 HMAC-SHA256 of
  ``timestamp + METHOD + requestPath + body``, the path with its query string),
  ``OK-ACCESS-TIMESTAMP`` (ISO 8601 with milliseconds, UTC) and ``OK-ACCESS-PASSPHRASE``;
- every answer is the envelope ``{"code": "0", "msg": "", "data": [...]}``; an order that fails
  is HTTP 200 with ``code`` "1" and the reason in ``data[0].sCode``/``sMsg``; authentication
  failures are HTTP 401 with codes 501xx; the rate limit is HTTP 429 with code 50011;
- instruments are ``BASE-QUOTE`` with ``tickSz``, ``lotSz`` and ``minSz``.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import Response

from mocks.crypto import signing
from mocks.crypto.styles import wsfeeds
from mocks.crypto.styles.common import Served, dec, plain
from mocks.crypto.venue import OrderState, Refusal
from system.engine.orders import OrderType, Side, TimeInForce

__all__ = ["CANCEL_SCHEMA", "ORDER_SCHEMA", "build_app"]

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "instId": {"type": "string"},
        "tdMode": {"type": "string", "enum": ["cash"]},
        "side": {"type": "string", "enum": ["buy", "sell"]},
        "ordType": {"type": "string", "enum": ["limit", "market", "post_only", "ioc", "fok"]},
        "sz": {"type": "string"},
        "px": {"type": "string"},
        "clOrdId": {"type": "string"},
    },
    "required": ["instId", "tdMode", "side", "ordType", "sz"],
}
CANCEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"instId": {"type": "string"}, "ordId": {"type": "string"}, "clOrdId": {"type": "string"}},
    "required": ["instId"],
}
_TYPES = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC, False),
    "post_only": (OrderType.LIMIT, TimeInForce.GTC, True),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC, False),
    "fok": (OrderType.LIMIT, TimeInForce.FOK, False),
    "market": (OrderType.MARKET, TimeInForce.IOC, False),
}


class OkxError(Exception):
    """A whole-request failure: ``{"code": code, "msg": msg, "data": []}`` with HTTP ``status``."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class OkxOrderError(Exception):
    """One order refused: code "1", the reason in ``data[0]``, HTTP 200."""

    def __init__(self, s_code: str, s_msg: str, cl_ord_id: str = "") -> None:
        super().__init__(s_msg)
        self.s_code, self.s_msg, self.cl_ord_id = s_code, s_msg, cl_ord_id


def _state(o: OrderState) -> str:
    return {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled"}.get(
        o.status, "canceled"
    )


def build_app(served: Served) -> FastAPI:
    venue, profile = served.venue, served.venue.profile
    app = FastAPI(title=f"{profile.name} (OKX-v5-style API mock)", version="1")
    app.state.served = served

    def order_json(o: OrderState) -> dict[str, Any]:
        avg = o.quote_filled / o.filled if o.filled else Decimal(0)
        return {
            "instType": "SPOT",
            "instId": o.symbol,
            "ordId": str(o.order_id),
            "clOrdId": o.client_id,
            "px": plain(o.price) if o.price is not None else "",
            "sz": plain(o.qty),
            "ordType": "post_only"
            if o.post_only
            else (
                "market"
                if o.type is OrderType.MARKET
                else {TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}.get(o.tif, "limit")
            ),
            "side": o.side.value.lower(),
            "tdMode": "cash",
            "state": _state(o),
            "accFillSz": plain(o.filled),
            "avgPx": plain(avg) if o.filled else "",
            "fillPx": plain(o.fills[-1].price) if o.fills else "",
            "fillSz": plain(o.fills[-1].qty) if o.fills else "0",
            "cTime": str(o.time_ns // 1_000_000),
            "uTime": str((o.done_ns or o.time_ns) // 1_000_000),
        }

    async def call(request: Request, private: bool, handler: Any) -> Response:
        body = await request.body()
        key = request.headers.get("OK-ACCESS-KEY", "")
        who = f"key:{key}" if private and key else (request.client.host if request.client else "client")
        adm = served.limiter.admit(who, 1)
        try:
            if not adm.allowed:
                raise OkxError(
                    429,
                    "50011",
                    "Rate limit reached. Please refer to API documentation and throttle requests "
                    "accordingly.",
                )
            account = _authenticate(request, body) if private else ""
            status, content = 200, {"code": "0", "msg": "", "data": handler(body, account)}
        except OkxError as e:
            status, content = e.status, {"code": e.code, "msg": e.msg, "data": []}
        except OkxOrderError as e:
            status = 200
            content = {
                "code": "1",
                "msg": "All operations failed",
                "data": [
                    {"clOrdId": e.cl_ord_id, "ordId": "", "tag": "", "sCode": e.s_code, "sMsg": e.s_msg}
                ],
            }
        return served.json(request, body, status, content)

    def _authenticate(request: Request, body: bytes) -> str:
        h = request.headers
        for name, code in (
            ("OK-ACCESS-KEY", "50103"),
            ("OK-ACCESS-PASSPHRASE", "50104"),
            ("OK-ACCESS-SIGN", "50106"),
            ("OK-ACCESS-TIMESTAMP", "50107"),
        ):
            if not h.get(name):
                raise OkxError(401, code, f"Request header {name} cannot be empty")
        entry = profile.key(h["OK-ACCESS-KEY"])
        if entry is None:
            raise OkxError(401, "50111", "Invalid OK-ACCESS-KEY")
        ts = h["OK-ACCESS-TIMESTAMP"]
        try:
            when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            assert ts.endswith("Z") and when.tzinfo is not None
            ts_ns = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
        except (ValueError, AssertionError, OverflowError, OSError):
            raise OkxError(401, "50112", "Invalid OK-ACCESS-TIMESTAMP") from None
        if abs(venue.clock.now_ns() - ts_ns) > profile.recv_window_ms * 1_000_000:
            raise OkxError(401, "50102", "Timestamp request expired")
        if h["OK-ACCESS-PASSPHRASE"] != entry.passphrase:
            raise OkxError(401, "50105", "Request header OK-ACCESS-PASSPHRASE incorrect")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        want = signing.okx(entry.secret, ts, request.method, target, body.decode("utf-8", "replace"))
        if not signing.verify(want, h["OK-ACCESS-SIGN"]):
            raise OkxError(401, "50113", "Invalid signature")
        return entry.account

    def body_json(b: bytes) -> dict[str, Any]:
        if not b:
            raise OkxError(400, "50000", "Body cannot be empty")
        try:
            msg = json.loads(b)
        except ValueError:
            raise OkxError(400, "50002", "JSON syntax error") from None
        if not isinstance(msg, dict):
            raise OkxError(400, "50002", "JSON syntax error")
        return msg

    def inst(i: str | None) -> str:
        if not i:
            raise OkxError(400, "50014", "Parameter instId cannot be empty")
        if i not in venue.rules:
            raise OkxError(400, "51001", "Instrument ID does not exist")
        return i

    # -- public ---------------------------------------------------------------------------------
    @app.get("/api/v5/public/time")
    async def time(request: Request) -> Response:
        return await call(request, False, lambda b, a: [{"ts": str(served.now_ms())}])

    @app.get("/api/v5/public/instruments")
    async def instruments(request: Request, instType: str | None = None) -> Response:
        def h(b: bytes, a: str) -> list[Any]:
            if not instType:
                raise OkxError(400, "50014", "Parameter instType cannot be empty")
            if instType != "SPOT":
                raise OkxError(400, "51000", "Parameter instType error")
            return [
                {
                    "instType": "SPOT",
                    "instId": s.symbol,
                    "baseCcy": s.base,
                    "quoteCcy": s.quote,
                    "tickSz": plain(s.tick),
                    "lotSz": plain(s.lot),
                    "minSz": plain(s.min_qty),
                    "state": "live",
                }
                for s in profile.symbols
            ]

        return await call(request, False, h)

    @app.get("/api/v5/market/books")
    async def books(request: Request, instId: str | None = None, sz: str | None = None) -> Response:
        def h(b: bytes, a: str) -> list[Any]:
            n = (
                1
                if sz is None
                else int(sz)
                if (sz.isascii() and sz.isdigit()) and 0 < int(sz) <= 400
                else None
            )
            if n is None:
                raise OkxError(400, "51000", "Parameter sz error")
            bids, asks = venue.depth(inst(instId), n)
            return [
                {
                    "asks": [[plain(p), plain(q), "0", "1"] for p, q in asks],
                    "bids": [[plain(p), plain(q), "0", "1"] for p, q in bids],
                    "ts": str(served.now_ms()),
                }
            ]

        return await call(request, False, h)

    # -- private --------------------------------------------------------------------------------
    @app.post(
        "/api/v5/trade/order",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": ORDER_SCHEMA}}}
        },
    )
    async def new_order(
        request: Request, ok_access_key: str | None = Header(None, alias="OK-ACCESS-KEY")
    ) -> Response:
        def h(b: bytes, account: str) -> list[Any]:
            msg = body_json(b)
            for name in ("instId", "tdMode", "side", "ordType", "sz"):
                v = msg.get(name)
                if v in (None, ""):
                    raise OkxError(400, "50014", f"Parameter {name} cannot be empty")
                if not isinstance(v, str):
                    raise OkxError(400, "51000", f"Parameter {name} error")
            sym = inst(msg["instId"])
            cid = msg.get("clOrdId", "")
            if not isinstance(cid, str) or len(cid) > 32 or (not (cid.isascii() and cid.isalnum()) and cid):
                raise OkxError(400, "51000", "Parameter clOrdId error")
            if msg["tdMode"] != "cash":
                raise OkxOrderError("51000", "Parameter tdMode error", cid)
            if msg["side"] not in ("buy", "sell"):
                raise OkxOrderError("51000", "Parameter side error", cid)
            if msg["ordType"] not in _TYPES:
                raise OkxOrderError("51000", "Parameter ordType error", cid)
            otype, tif, post_only = _TYPES[msg["ordType"]]
            size = dec(msg["sz"])
            if size is None:
                raise OkxOrderError("51000", "Parameter sz error", cid)
            px: Decimal | None = None
            if otype is OrderType.LIMIT:
                px_t = msg.get("px")
                if not isinstance(px_t, str) or not px_t:
                    raise OkxOrderError("50014", "Parameter px cannot be empty", cid)
                px = dec(px_t)
                if px is None:
                    raise OkxOrderError("51000", "Parameter px error", cid)
            try:
                o = venue.place(
                    account,
                    sym,
                    Side(msg["side"].upper()),
                    otype,
                    size,
                    px,
                    tif=tif,
                    client_id=cid,
                    post_only=post_only,
                )
            except Refusal as r:
                raise _refusal(r, cid) from None
            return [
                {
                    "clOrdId": cid,
                    "ordId": str(o.order_id),
                    "tag": "",
                    "ts": str(served.now_ms()),
                    "sCode": "0",
                    "sMsg": "Order placed",
                }
            ]

        return await call(request, True, h)

    @app.get("/api/v5/trade/order")
    async def get_order(
        request: Request,
        instId: str | None = None,
        ordId: str | None = None,
        clOrdId: str | None = None,
        ok_access_key: str | None = Header(None, alias="OK-ACCESS-KEY"),
    ) -> Response:
        def h(b: bytes, account: str) -> list[Any]:
            sym = inst(instId)
            if not ordId and not clOrdId:
                raise OkxError(400, "51003", "Either client order ID or order ID is required")
            oid = int(ordId) if ordId and (ordId.isascii() and ordId.isdigit()) and len(ordId) < 19 else None
            if ordId and oid is None:
                raise OkxError(400, "51000", "Parameter ordId error")
            try:
                return [order_json(venue.find(account, sym, oid, clOrdId or ""))]
            except Refusal:
                raise OkxError(200, "51603", "Order does not exist") from None

        return await call(request, True, h)

    @app.post(
        "/api/v5/trade/cancel-order",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": CANCEL_SCHEMA}}}
        },
    )
    async def cancel(
        request: Request, ok_access_key: str | None = Header(None, alias="OK-ACCESS-KEY")
    ) -> Response:
        def h(b: bytes, account: str) -> list[Any]:
            msg = body_json(b)
            instid = msg.get("instId")
            sym = inst(instid if isinstance(instid, str) else None)
            ord_id, cl = msg.get("ordId", ""), msg.get("clOrdId", "")
            if not isinstance(ord_id, str) or not isinstance(cl, str):
                raise OkxError(400, "51000", "Parameter ordId error")
            if not ord_id and not cl:
                raise OkxError(400, "51003", "Either client order ID or order ID is required")
            oid = int(ord_id) if (ord_id.isascii() and ord_id.isdigit()) and len(ord_id) < 19 else None
            try:
                if ord_id and oid is None:
                    raise Refusal("unknown_order", "bad id")
                o = venue.cancel(account, sym, oid, cl)
            except Refusal:
                raise OkxOrderError(
                    "51400",
                    "Order cancellation failed as the order has been filled, canceled or does not exist",
                    cl,
                ) from None
            return [{"clOrdId": o.client_id, "ordId": str(o.order_id), "sCode": "0", "sMsg": ""}]

        return await call(request, True, h)

    @app.get("/api/v5/trade/orders-pending")
    async def pending(
        request: Request,
        instId: str | None = None,
        ok_access_key: str | None = Header(None, alias="OK-ACCESS-KEY"),
    ) -> Response:
        def h(b: bytes, account: str) -> list[Any]:
            sym = inst(instId) if instId is not None else None
            return [order_json(o) for o in venue.open_orders(account, sym)]

        return await call(request, True, h)

    feeds = wsfeeds.OkxFeeds(served, lambda s: s)
    app.add_api_websocket_route("/ws/v5/public", feeds.public)
    app.add_api_websocket_route("/ws/v5/private", feeds.private)
    return app


def _refusal(r: Refusal, cid: str) -> OkxOrderError:
    codes = {
        "price_tick": ("51000", "Parameter px error"),
        "bad_price": ("51000", "Parameter px error"),
        "qty_lot": ("51121", f"Order quantity must be a multiple of the lot size {r.limit}"),
        "min_qty": ("51020", f"Order quantity must be greater than or equal to the minimum {r.limit}"),
        "bad_qty": ("51000", "Parameter sz error"),
        "min_notional": ("51020", f"Order amount must be greater than or equal to the minimum {r.limit}"),
        "duplicate_order": ("51016", "Duplicated clOrdId"),
        "post_only": ("51000", "Parameter ordType error: a post_only order would take liquidity"),
        "unknown_symbol": ("51001", "Instrument ID does not exist"),
    }
    code, msg = codes.get(r.kind, ("51000", r.text))
    return OkxOrderError(code, msg, cid)
