"""Signed requests to a crypto mock, built the way each style's clients build them, for tests,
steps and the bench: ``prepare`` makes (method, target, headers, body); any HTTP client sends it.
``order_request``/``cancel_request``/``order_answer`` speak in one venue-neutral vocabulary on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mocks.crypto import signing
from mocks.crypto.profile import ApiKeyEntry, VenueProfile
from system.clock import Clock

__all__ = ["Answer", "Prepared", "cancel_request", "order_answer", "order_request", "prepare"]


@dataclass(frozen=True)
class Prepared:
    method: str
    target: str  # path with its query string
    headers: dict[str, str]
    body: bytes


def prepare(
    profile: VenueProfile,
    key: ApiKeyEntry | None,
    clock: Clock,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Prepared:
    """One request, signed with ``key`` at the clock's now (unsigned when ``key`` is None)."""
    now = clock.now_ns()
    query = urlencode(params or {})
    if profile.style == "binance":
        headers = {}
        if key is not None:
            query = (query + "&" if query else "") + f"timestamp={now // 1_000_000}"
            query += "&signature=" + signing.binance(key.secret, query)
            headers["X-MBX-APIKEY"] = key.key
        return Prepared(method, path + (f"?{query}" if query else ""), headers, b"")
    text = json.dumps(body, separators=(",", ":")) if body is not None else ""
    target = path + (f"?{query}" if query else "")
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key is not None:
        if profile.style == "coinbase":
            ts = f"{now // 1_000_000_000}"
            sig = signing.coinbase(key.secret, ts, method, target, text)
            headers |= {
                "CB-ACCESS-KEY": key.key,
                "CB-ACCESS-SIGN": sig,
                "CB-ACCESS-TIMESTAMP": ts,
                "CB-ACCESS-PASSPHRASE": key.passphrase,
            }
        else:
            ts = signing.iso_ms(now)
            sig = signing.okx(key.secret, ts, method, target, text)
            headers |= {
                "OK-ACCESS-KEY": key.key,
                "OK-ACCESS-SIGN": sig,
                "OK-ACCESS-TIMESTAMP": ts,
                "OK-ACCESS-PASSPHRASE": key.passphrase,
            }
    return Prepared(method, target, headers, text.encode())


def order_request(
    profile: VenueProfile,
    key: ApiKeyEntry,
    clock: Clock,
    symbol: str,
    side: str,
    qty: str,
    price: str | None = None,
    *,
    client_id: str = "",
    post_only: bool = False,
) -> Prepared:
    """A limit (or, with no price, market) order in the venue's own words; ``side`` BUY/SELL."""
    if profile.style == "binance":
        p = {
            "symbol": symbol,
            "side": side,
            "type": "MARKET" if price is None else ("LIMIT_MAKER" if post_only else "LIMIT"),
            "quantity": qty,
        }
        if price is not None:
            p["price"] = price
            if not post_only:
                p["timeInForce"] = "GTC"
        if client_id:
            p["newClientOrderId"] = client_id
        return prepare(profile, key, clock, "POST", "/api/v3/order", p)
    if profile.style == "coinbase":
        b: dict[str, Any] = {
            "product_id": symbol,
            "side": side.lower(),
            "type": "limit" if price else "market",
            "size": qty,
        }
        if price is not None:
            b["price"] = price
            b["post_only"] = post_only
        if client_id:
            b["client_oid"] = client_id
        return prepare(profile, key, clock, "POST", "/orders", body=b)
    kind = "market" if price is None else ("post_only" if post_only else "limit")
    b = {"instId": symbol, "tdMode": "cash", "side": side.lower(), "ordType": kind, "sz": qty}
    if price is not None:
        b["px"] = price
    if client_id:
        b["clOrdId"] = client_id
    return prepare(profile, key, clock, "POST", "/api/v5/trade/order", body=b)


def cancel_request(
    profile: VenueProfile, key: ApiKeyEntry, clock: Clock, symbol: str, order_id: str
) -> Prepared:
    if profile.style == "binance":
        return prepare(
            profile, key, clock, "DELETE", "/api/v3/order", {"symbol": symbol, "orderId": order_id}
        )
    if profile.style == "coinbase":
        return prepare(profile, key, clock, "DELETE", f"/orders/{order_id}")
    return prepare(
        profile, key, clock, "POST", "/api/v5/trade/cancel-order", body={"instId": symbol, "ordId": order_id}
    )


@dataclass(frozen=True)
class Answer:
    """An order answer in one vocabulary: ``ok``, the venue's order id, and for a refusal its
    error code (as text) and message."""

    ok: bool
    order_id: str = ""
    status: str = ""
    filled: str = ""
    code: str = ""
    message: str = ""


def order_answer(style: str, http_status: int, payload: Any) -> Answer:
    if style == "binance":
        if http_status == 200:
            return Answer(True, str(payload["orderId"]), payload["status"], payload["executedQty"])
        return Answer(False, code=str(payload["code"]), message=payload["msg"])
    if style == "coinbase":
        if http_status == 200:
            return Answer(True, payload["id"], payload["status"], payload["filled_size"])
        return Answer(False, code=str(http_status), message=payload["message"])
    if payload.get("code") == "0":
        d = payload["data"][0]
        return Answer(True, d["ordId"], "live")
    d = payload["data"][0] if payload.get("data") else {}
    return Answer(False, code=d.get("sCode", payload["code"]), message=d.get("sMsg", payload["msg"]))
