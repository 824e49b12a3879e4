"""Crypto exchange mocks: REST order entry and WebSocket market data and executions in three
API styles (Binance, Coinbase Exchange, OKX v5), seven venues configured by TOML profiles, orders
matched by Chronex's own engine. See docs/mocks.md."""

from __future__ import annotations

from mocks.crypto.profile import VenueProfile, parse_profile
from mocks.crypto.server import PROFILES, SPECS, CryptoMock, served
from mocks.crypto.venue import Refusal, Venue

__all__ = ["PROFILES", "SPECS", "CryptoMock", "Refusal", "Venue", "VenueProfile", "parse_profile", "served"]
