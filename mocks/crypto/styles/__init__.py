"""The API styles a crypto venue can speak; ``build_app`` picks one by the profile's ``style``."""

from __future__ import annotations

from fastapi import FastAPI

from mocks.crypto.styles.common import Served

__all__ = ["build_app"]


def build_app(served: Served) -> FastAPI:
    style = served.venue.profile.style
    if style == "binance":
        from mocks.crypto.styles import binance

        return binance.build_app(served)
    if style == "coinbase":
        from mocks.crypto.styles import coinbase

        return coinbase.build_app(served)
    from mocks.crypto.styles import okx

    return okx.build_app(served)
