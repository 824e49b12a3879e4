"""schemathesis over each REST mock's OpenAPI document, in process (ASGI), on a bounded number
of generated requests per operation: no 5xx, and every 4xx in the imitated venue's own error
shape (Binance ``{code, msg}``, Coinbase ``{message}``, OKX ``{code, msg, data}``, problem+json
for the wallet and onboarding mocks). The crypto venues run twice: as sent (mostly refused by
authentication) and signed by a client-side wrapper, so generated orders reach validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from mocks.base import MockContext
from mocks.crypto import signing
from mocks.crypto.styles.common import Served
from mocks.kyc import OnboardingMock
from mocks.wallet import WalletMock
from system.clock import FixedClock
from tests.integration.crypto_kit import T0, make
from tests.integration.test_onboarding_mock import PROFILE as KYC_PROFILE
from tests.integration.test_wallet_mock import PROFILE as WALLET_PROFILE

Shape = Callable[[int, Any], bool]

SHAPES: dict[str, Shape] = {
    "binance": lambda s, b: isinstance(b, dict) and isinstance(b.get("code"), int) and b["code"] < 0
    and isinstance(b.get("msg"), str),
    "coinbase": lambda s, b: isinstance(b, dict) and set(b) == {"message"} and isinstance(b["message"], str),
    "okx": lambda s, b: isinstance(b, dict) and isinstance(b.get("code"), str) and b["code"] != "0"
    and isinstance(b.get("data"), list),
    "problem": lambda s, b: isinstance(b, dict) and b.get("status") == s and isinstance(b.get("detail"), str),
}  # fmt: skip


def _shape_check(shape: Shape, seen: list[tuple[int, bytes]]) -> Any:
    @schemathesis.check
    def venue_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
        """Every 4xx answer is JSON in the venue's own error shape."""
        seen.append((response.status_code, response.content))
        if 400 <= response.status_code < 500:
            body = json.loads(response.content)
            assert shape(response.status_code, body), f"{response.status_code}: {body!r}"
        return None

    return venue_error_shape


class Signer:
    """ASGI middleware that signs each request the way the venue's clients do, at the mock's
    virtual now, and moves the clock a second on so rate windows roll over."""

    def __init__(self, app: Any, served: Served, clock: FixedClock) -> None:
        self.app, self.served, self.clock = app, served, clock
        self.key = served.venue.profile.keys[0]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.clock.t += 10**9
        chunks = []
        while True:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        style = self.served.venue.profile.style
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if not k.lower().startswith((b"x-mbx", b"cb-access", b"ok-access"))
        ]
        query = scope.get("query_string", b"").decode("latin-1")
        now = self.clock.t
        if style == "binance":
            pairs = [
                (k, v)
                for k, v in parse_qsl(query, keep_blank_values=True)
                if k not in ("timestamp", "signature")
            ]
            query = urlencode([*pairs, ("timestamp", str(now // 10**6))])
            query += "&signature=" + signing.binance(self.key.secret, query)
            headers.append((b"x-mbx-apikey", self.key.key.encode()))
        else:
            path = scope["path"] + (f"?{query}" if query else "")
            text = body.decode("utf-8", "replace")
            if style == "coinbase":
                ts = str(now // 10**9)
                sig = signing.coinbase(self.key.secret, ts, scope["method"], path, text)
                prefix = "cb-access-"
            else:
                ts = signing.iso_ms(now)
                sig = signing.okx(self.key.secret, ts, scope["method"], path, text)
                prefix = "ok-access-"
            for name, value in (
                ("key", self.key.key),
                ("sign", sig),
                ("timestamp", ts),
                ("passphrase", self.key.passphrase),
            ):
                headers.append(((prefix + name).encode(), value.encode()))
        scope = dict(scope, headers=headers, query_string=query.encode("latin-1"))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _fuzz(app: Any, shape: Shape, examples: int, seen: list[tuple[int, bytes]] | None = None) -> int:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, _shape_check(shape, [] if seen is None else seen)]
    ran = 0
    for found in schema.get_all_operations():
        op = found.ok()

        @given(case=op.as_strategy())
        @settings(
            max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=checks)

        check()
        ran += 1
    return ran


@pytest.mark.parametrize("venue", ["binance", "coinbase", "okx", "mexc", "okx-eea"])
@pytest.mark.parametrize("signed", [False, True], ids=["as-sent", "signed"])
def test_crypto_mock_answers_every_generated_request_in_its_venues_words(venue: str, signed: bool) -> None:
    """No 5xx; every refusal is the venue's error body."""
    served, app, clock = make(venue)
    if signed:
        app = _Wrapped(app, Signer(app, served, clock))
    style = served.venue.profile.style
    seen: list[tuple[int, bytes]] = []
    assert _fuzz(app, SHAPES[style], 25 if signed else 10, seen) >= 5
    if signed:  # the signer got generated requests past authentication, into validation and matching
        auth = (b"-1022", b"-2015", b"-2014", b"-1021", b"signature", b"501")
        assert sum(1 for _, body in seen if not any(a in body for a in auth)) > len(seen) // 2
        assert any(status == 200 for status, _ in seen)


class _Wrapped:
    """The signer in front, the app's OpenAPI document still served (schemathesis reads it)."""

    def __init__(self, app: Any, signer: Signer) -> None:
        self.app, self.signer = app, signer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("path") == "/openapi.json":
            return await self.app(scope, receive, send)
        return await self.signer(scope, receive, send)


def test_wallet_mock_answers_every_generated_request_with_a_problem() -> None:
    """No 5xx; every refusal is problem+json with its status."""
    mock = WalletMock(MockContext(WALLET_PROFILE, FixedClock(T0)))
    assert _fuzz(mock.app, SHAPES["problem"], 40) == 6


def test_onboarding_mock_answers_every_generated_request_with_a_problem() -> None:
    """No 5xx; every refusal is problem+json with its status."""
    mock = OnboardingMock(MockContext(KYC_PROFILE, FixedClock(T0)))
    assert _fuzz(mock.app, SHAPES["problem"], 40) == 5
