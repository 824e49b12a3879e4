"""Custody wallet mock: deposits credited after N confirmations in virtual time, withdrawals
only to allow-listed addresses. See docs/mocks.md."""

from __future__ import annotations

from pathlib import Path

from mocks.asgi import AsgiServer
from mocks.base import MockContext, MockSpec
from mocks.wallet.app import build_app
from mocks.wallet.wallet import Wallet, WalletError, parse_profile

__all__ = ["SPEC", "Wallet", "WalletError", "WalletMock", "parse_profile"]


class WalletMock:
    def __init__(self, ctx: MockContext) -> None:
        self.wallet = Wallet(parse_profile(ctx.profile), ctx.clock, ctx.record, seed=ctx.seed)
        self.name = self.wallet.profile.name
        self.app = build_app(self.wallet)
        self.http = AsgiServer(self.name, self.app, ctx.host, ctx.port)

    async def start(self) -> None:
        await self.http.start()

    async def stop(self) -> None:
        await self.http.stop()

    def endpoints(self) -> dict[str, str]:
        return {"rest": f"http://{self.http.address}"}


SPEC = MockSpec(
    "wallet",
    "custody wallets: deposits after N confirmations, allow-listed withdrawals",
    Path(__file__).parent / "wallet.toml",
    WalletMock,
    replay_role="http",
)
