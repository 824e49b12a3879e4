"""The external exchange mock: FIX 4.4 acceptor + ITCH 5.0 feed over a served venue (docs/mocks.md)."""

from mocks.exchange.mock import DEFAULT_PROFILE, ExchangeMock

__all__ = ["DEFAULT_PROFILE", "ExchangeMock"]
