"""What every API style shares: the venue, its rate limiter, the recorder, and the edge
conversions (decimal text in, decimal text out)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from mocks.base import Recorder
from mocks.crypto.ratelimit import RateLimiter
from mocks.crypto.venue import Venue, plain

__all__ = ["DECIMAL", "Served", "dec", "plain"]

# The decimal text Binance accepts (its -1100 message quotes the same pattern); the other styles
# take the same shape of number.
DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


def dec(text: str) -> Decimal | None:
    """A decimal from API text, or None if the text is not a plain non-negative number."""
    if not DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


@dataclass
class Served:
    """One venue as its API serves it."""

    venue: Venue
    limiter: RateLimiter
    record: Recorder

    @property
    def name(self) -> str:
        return self.venue.profile.name

    def now_ms(self) -> int:
        return self.venue.clock.now_ns() // 1_000_000

    def json(
        self, request: Request, body: bytes, status: int, content: Any, headers: dict[str, str] | None = None
    ) -> Response:
        """The answer, recorded with the request it answers (link: the client's address)."""
        out = json.dumps(content, separators=(",", ":")).encode()
        link = request.client.host if request.client else "client"
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.record(self.name, link, "in", f"{request.method} {target}\n".encode() + body)
        self.record(self.name, link, "out", f"{status}\n".encode() + out)
        return Response(out, status, headers=headers, media_type="application/json")


