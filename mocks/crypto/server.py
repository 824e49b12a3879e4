"""A crypto venue as a mock: its profile, its venue core, its API style, on one uvicorn."""

from __future__ import annotations

from pathlib import Path

from mocks.asgi import HttpMock
from mocks.base import MockContext, MockSpec
from mocks.crypto.profile import VenueProfile, parse_profile
from mocks.crypto.ratelimit import RateLimiter
from mocks.crypto.styles import build_app
from mocks.crypto.styles.common import Served
from mocks.crypto.venue import Venue

__all__ = ["PROFILES", "SPECS", "CryptoMock", "served"]

PROFILES = Path(__file__).parent / "profiles"
# The seven venues the seed's system connects to, over the three API styles.
VENUES = (
    ("binance", "binance"),
    ("binanceus", "binance"),
    ("mexc", "binance"),
    ("coinbase", "coinbase"),
    ("coinbase-intl", "coinbase"),
    ("okx", "okx"),
    ("okx-eea", "okx"),
)


def served(ctx: MockContext) -> Served:
    """The venue and its API state, without a socket (tests use it on an ASGI transport)."""
    profile: VenueProfile = parse_profile(ctx.profile)
    venue = Venue(profile, ctx.clock, seed=ctx.seed)
    return Served(venue, RateLimiter(ctx.clock, profile.rate_limit, profile.window_s), ctx.record)


class CryptoMock(HttpMock):
    def __init__(self, ctx: MockContext) -> None:
        self.served = served(ctx)
        self.serve(self.served.name, build_app(self.served), ctx)

    def endpoints(self) -> dict[str, str]:
        ws = {"binance": "/ws/", "coinbase": "/ws", "okx": "/ws/v5/public"}[self.served.venue.profile.style]
        return {"rest": f"http://{self.http.address}", "ws": f"ws://{self.http.address}{ws}"}


SPECS = tuple(
    MockSpec(
        name, f"crypto exchange, {style}-style REST + WebSocket", PROFILES / f"{name}.toml", CryptoMock,
        replay_role="http",
    )
    for name, style in VENUES
)
