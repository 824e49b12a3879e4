"""The Binance spot REST style (``/api/v3``), as its public API documentation describes it:

- signed endpoints take ``timestamp`` (ms), optional ``recvWindow`` and ``signature``, the hex
  HMAC-SHA256 of the query string followed by the body; the key travels in ``X-MBX-APIKEY``;
- errors are ``{"code": -NNNN, "msg": "..."}`` with HTTP 400 (401 for a bad key, 404 for an
  unknown order, 429 past the request weight, with ``Retry-After``);
- every answer carries ``X-MBX-USED-WEIGHT-1M``, the weight this client used in the current
  window (here: the profile's window, counted in virtual time);
- symbol filters PRICE_FILTER (tick), LOT_SIZE (step, minimum) and NOTIONAL, refused as
  ``-1013 Filter failure: <FILTER>``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import Response

from mocks.crypto import signing
from mocks.crypto.styles import wsfeeds
from mocks.crypto.styles.common import DECIMAL, Served, dec, plain
from mocks.crypto.venue import OrderState, Refusal
from system.engine.orders import OrderType, Side, TimeInForce

__all__ = ["build_app"]

_FILTER = {
    "price_tick": "PRICE_FILTER",
    "bad_price": "PRICE_FILTER",
    "qty_lot": "LOT_SIZE",
    "min_qty": "LOT_SIZE",
    "bad_qty": "LOT_SIZE",
    "min_notional": "NOTIONAL",
}
_STATUS = {
    "NEW": "NEW",
    "PARTIALLY_FILLED": "PARTIALLY_FILLED",
    "FILLED": "FILLED",
    "CANCELED": "CANCELED",
    "EXPIRED": "EXPIRED",
}


class BinanceError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _mandatory(name: str) -> BinanceError:
    return BinanceError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _decimal(params: dict[str, str], name: str) -> Decimal:
    text = params.get(name, "")
    if not text:
        raise _mandatory(name)
    d = dec(text)
    if d is None:
        raise BinanceError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{DECIMAL.pattern}'."
        )
    return d


def _int(params: dict[str, str], name: str, *, required: bool = True) -> int | None:
    text = params.get(name, "")
    if not text:
        if required:
            raise _mandatory(name)
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise BinanceError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,19}}$'."
        )
    return int(text)


def order_json(o: OrderState, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_id,
        "price": plain(o.price or Decimal(0)),
        "origQty": plain(o.qty),
        "executedQty": plain(o.filled),
        "cummulativeQuoteQty": plain(o.quote_filled),
        "status": _STATUS[o.status],
        "timeInForce": o.tif.value,
        "type": "LIMIT_MAKER" if o.post_only else o.type.value,
        "side": o.side.value,
    }
    if full:
        out["transactTime"] = o.time_ns // 1_000_000
        out["fills"] = [
            {
                "price": plain(t.price),
                "qty": plain(t.qty),
                "commission": "0",
                "commissionAsset": "",
                "tradeId": t.trade_id,
            }
            for t in o.fills
        ]
    else:
        out["time"] = out["updateTime"] = o.time_ns // 1_000_000
        out["isWorking"] = o.open
    return out


def build_app(served: Served) -> FastAPI:
    venue, profile = served.venue, served.venue.profile
    app = FastAPI(title=f"{profile.name} (Binance-style spot API mock)", version="1")
    app.state.served = served

    async def call(request: Request, cost: int, signed: bool, handler: Any) -> Response:
        body = await request.body()
        who = request.client.host if request.client else "client"
        adm = served.limiter.admit(who, cost)
        headers = {"X-MBX-USED-WEIGHT-1M": str(adm.used)}
        try:
            if not adm.allowed:
                headers["Retry-After"] = str(adm.retry_after_s)
                raise BinanceError(
                    429,
                    -1003,
                    f"Too much request weight used; current limit is {profile.rate_limit} request weight "
                    f"per {profile.window_s} SECOND. Please use WebSocket Streams for live updates to avoid "
                    "polling the API.",
                )
            params, account = _authenticate(request, body, signed)
            status, content = handler(params, account)
        except BinanceError as e:
            status, content = e.status, {"code": e.code, "msg": e.msg}
        return served.json(request, body, status, content, headers)

    def _authenticate(request: Request, body: bytes, signed: bool) -> tuple[dict[str, str], str]:
        query = request.scope.get("query_string", b"").decode("latin-1")
        form = (
            body.decode("utf-8", "replace")
            if body and "json" not in request.headers.get("content-type", "")
            else ""
        )
        pairs = parse_qsl(query, keep_blank_values=True) + parse_qsl(form, keep_blank_values=True)
        params: dict[str, str] = {}
        for k, v in pairs:
            if k in params:
                raise BinanceError(400, -1101, "Duplicate values for a parameter detected.")
            params[k] = v
        if not signed:
            return params, ""
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key:
            raise BinanceError(401, -2014, "API-key format invalid.")
        entry = profile.key(key)
        if entry is None:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        ts = _int(params, "timestamp")
        window = _int(params, "recvWindow", required=False)
        window = profile.recv_window_ms if window is None else window
        if window > 60_000:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000.")
        now = served.now_ms()
        assert ts is not None
        if ts > now + 1000:
            raise BinanceError(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - ts > window:
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        sig = params.get("signature", "")
        if not sig:
            raise _mandatory("signature")
        total = _strip_signature(query) + _strip_signature(form)
        if not signing.verify(signing.binance(entry.secret, total), sig, fold_case=True):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        return params, entry.account

    def symbol_of(params: dict[str, str]) -> str:
        sym = params.get("symbol", "")
        if not sym:
            raise _mandatory("symbol")
        if sym not in venue.rules:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return sym

    # -- public ---------------------------------------------------------------------------------
    @app.get("/api/v3/ping")
    async def ping(request: Request) -> Response:
        return await call(request, 1, False, lambda p, a: (200, {}))

    @app.get("/api/v3/time")
    async def time(request: Request) -> Response:
        return await call(request, 1, False, lambda p, a: (200, {"serverTime": served.now_ms()}))

    @app.get("/api/v3/exchangeInfo")
    async def exchange_info(request: Request) -> Response:
        def h(p: dict[str, str], a: str) -> tuple[int, Any]:
            return 200, {
                "timezone": "UTC",
                "serverTime": served.now_ms(),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "SECOND",
                        "intervalNum": profile.window_s,
                        "limit": profile.rate_limit,
                    }
                ],
                "symbols": [
                    {
                        "symbol": s.symbol,
                        "status": "TRADING",
                        "baseAsset": s.base,
                        "quoteAsset": s.quote,
                        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                        "filters": [
                            {
                                "filterType": "PRICE_FILTER",
                                "minPrice": plain(s.tick),
                                "maxPrice": "0",
                                "tickSize": plain(s.tick),
                            },
                            {
                                "filterType": "LOT_SIZE",
                                "minQty": plain(s.min_qty),
                                "maxQty": "0",
                                "stepSize": plain(s.lot),
                            },
                            {
                                "filterType": "NOTIONAL",
                                "minNotional": plain(s.min_notional),
                                "applyMinToMarket": True,
                            },
                        ],
                    }
                    for s in profile.symbols
                ],
            }

        return await call(request, 20, False, h)

    @app.get("/api/v3/depth")
    async def depth(
        request: Request, symbol: str | None = Query(None), limit: str | None = Query(None)
    ) -> Response:
        n = int(limit) if limit and (limit.isascii() and limit.isdigit()) and len(limit) < 6 else 100
        cost = 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250

        def h(p: dict[str, str], a: str) -> tuple[int, Any]:
            lim = _int(p, "limit", required=False) or 100
            if lim > 5000:
                raise BinanceError(
                    400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'."
                )
            bids, asks = venue.depth(symbol_of(p), lim)
            return 200, {
                "lastUpdateId": venue.system.store.head().seq,
                "bids": [[plain(px), plain(q)] for px, q in bids],
                "asks": [[plain(px), plain(q)] for px, q in asks],
            }

        return await call(request, cost, False, h)

    # -- signed ---------------------------------------------------------------------------------
    @app.post("/api/v3/order", status_code=200)
    async def new_order(
        request: Request,
        symbol: str | None = Query(None),
        side: str | None = Query(None),
        type: str | None = Query(None),
        timeInForce: str | None = Query(None),
        quantity: str | None = Query(None),
        price: str | None = Query(None),
        newClientOrderId: str | None = Query(None),
        recvWindow: str | None = Query(None),
        timestamp: str | None = Query(None),
        signature: str | None = Query(None),
        x_mbx_apikey: str | None = Header(None, alias="X-MBX-APIKEY"),
    ) -> Response:
        def h(p: dict[str, str], account: str) -> tuple[int, Any]:
            sym = symbol_of(p)
            side_t = p.get("side", "")
            if not side_t:
                raise _mandatory("side")
            if side_t not in ("BUY", "SELL"):
                raise BinanceError(400, -1117, "Invalid side.")
            typ = p.get("type", "")
            if not typ:
                raise _mandatory("type")
            if typ not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
                raise BinanceError(400, -1116, "Invalid orderType.")
            qty = _decimal(p, "quantity")
            px: Decimal | None = None
            tif = TimeInForce.GTC
            if typ == "LIMIT":
                t = p.get("timeInForce", "")
                if not t:
                    raise _mandatory("timeInForce")
                if t not in ("GTC", "IOC", "FOK"):
                    raise BinanceError(400, -1115, "Invalid timeInForce.")
                tif = TimeInForce(t)
            elif "timeInForce" in p:
                raise BinanceError(400, -1106, "Parameter 'timeInForce' sent when not required.")
            if typ == "MARKET":
                if "price" in p:
                    raise BinanceError(400, -1106, "Parameter 'price' sent when not required.")
            else:
                px = _decimal(p, "price")
            cid = p.get("newClientOrderId", "")
            if len(cid) > 36 or not all((c.isascii() and c.isalnum()) or c in "._-" for c in cid):
                raise BinanceError(
                    400,
                    -1100,
                    "Illegal characters found in parameter 'newClientOrderId'; "
                    "legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
                )
            try:
                o = venue.place(
                    account,
                    sym,
                    Side(side_t),
                    OrderType.MARKET if typ == "MARKET" else OrderType.LIMIT,
                    qty,
                    px,
                    tif=tif,
                    client_id=cid,
                    post_only=typ == "LIMIT_MAKER",
                )
            except Refusal as r:
                raise _refusal(r) from None
            return 200, order_json(o, full=True)

        return await call(request, 1, True, h)

    def order_ref(p: dict[str, str]) -> tuple[str, int | None, str]:
        """The order a query or cancel names: symbol, and orderId or origClientOrderId (-1102)."""
        sym = symbol_of(p)  # its error first, as before the ids are looked at
        oid = _int(p, "orderId", required=False)
        cid = p.get("origClientOrderId", "")
        if oid is None and not cid:
            raise BinanceError(
                400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        return sym, oid, cid

    @app.get("/api/v3/order")
    async def query_order(
        request: Request,
        symbol: str | None = Query(None),
        orderId: str | None = Query(None),
        origClientOrderId: str | None = Query(None),
        timestamp: str | None = Query(None),
        signature: str | None = Query(None),
        x_mbx_apikey: str | None = Header(None, alias="X-MBX-APIKEY"),
    ) -> Response:
        def h(p: dict[str, str], account: str) -> tuple[int, Any]:
            sym, oid, cid = order_ref(p)
            try:
                return 200, order_json(venue.find(account, sym, oid, cid))
            except Refusal:
                raise BinanceError(400, -2013, "Order does not exist.") from None

        return await call(request, 4, True, h)

    @app.delete("/api/v3/order")
    async def cancel_order(
        request: Request,
        symbol: str | None = Query(None),
        orderId: str | None = Query(None),
        origClientOrderId: str | None = Query(None),
        timestamp: str | None = Query(None),
        signature: str | None = Query(None),
        x_mbx_apikey: str | None = Header(None, alias="X-MBX-APIKEY"),
    ) -> Response:
        def h(p: dict[str, str], account: str) -> tuple[int, Any]:
            sym, oid, cid = order_ref(p)
            try:
                o = venue.cancel(account, sym, oid, cid)
            except Refusal:
                raise BinanceError(400, -2011, "Unknown order sent.") from None
            return 200, order_json(o) | {"origClientOrderId": o.client_id}

        return await call(request, 1, True, h)

    @app.get("/api/v3/openOrders")
    async def open_orders(
        request: Request,
        symbol: str | None = Query(None),
        timestamp: str | None = Query(None),
        signature: str | None = Query(None),
        x_mbx_apikey: str | None = Header(None, alias="X-MBX-APIKEY"),
    ) -> Response:
        def h(p: dict[str, str], account: str) -> tuple[int, Any]:
            sym = symbol_of(p) if "symbol" in p else None
            return 200, [order_json(o) for o in venue.open_orders(account, sym)]

        return await call(request, 6 if symbol else 80, True, h)

    @app.post("/api/v3/userDataStream")
    async def user_stream(
        request: Request, x_mbx_apikey: str | None = Header(None, alias="X-MBX-APIKEY")
    ) -> Response:
        def h(p: dict[str, str], a: str) -> tuple[int, Any]:
            entry = profile.key(request.headers.get("X-MBX-APIKEY", ""))
            if entry is None:
                raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            return 200, {"listenKey": feeds.listen_key(entry.account)}

        return await call(request, 2, False, h)

    feeds = wsfeeds.BinanceFeeds(served)
    app.add_api_websocket_route("/ws/{stream}", feeds.endpoint)
    return app


def _refusal(r: Refusal) -> BinanceError:
    if r.kind == "unknown_symbol":
        return BinanceError(400, -1121, "Invalid symbol.")
    if r.kind in _FILTER:
        return BinanceError(400, -1013, f"Filter failure: {_FILTER[r.kind]}")
    if r.kind == "post_only":
        return BinanceError(400, -2010, "Order would immediately match and take.")
    if r.kind == "duplicate_order":
        return BinanceError(400, -2010, "Duplicate order sent.")
    return BinanceError(400, -2010, r.text)


def _strip_signature(qs: str) -> str:
    """The parameter string without its ``signature=`` pair: what the client signed."""
    if "signature=" not in qs:
        return qs
    return "&".join(p for p in qs.split("&") if not p.startswith("signature="))
