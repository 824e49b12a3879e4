"""Custody wallet mock: deposits credited after N confirmations in virtual time, withdrawals
only to allow-listed addresses. See docs/mocks.md."""

from __future__ import annotations

from pathlib import Path

from mocks.asgi import HttpMock
from mocks.base import MockContext, MockSpec
from mocks.wallet.app import build_app
from mocks.wallet.wallet import Wallet, WalletError, parse_profile

__all__ = ["SPEC", "Wallet", "WalletError", "WalletMock", "parse_profile"]


class WalletMock(HttpMock):
    def __init__(self, ctx: MockContext) -> None:
        self.wallet = Wallet(parse_profile(ctx.profile), ctx.clock, ctx.record, seed=ctx.seed)
        self.serve(self.wallet.profile.name, build_app(self.wallet), ctx)


SPEC = MockSpec(
    "wallet",
    "custody wallets: deposits after N confirmations, allow-listed withdrawals",
    Path(__file__).parent / "wallet.toml",
    WalletMock,
    replay_role="http",
)
