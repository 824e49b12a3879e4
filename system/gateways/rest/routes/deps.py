"""Dependencies every router shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from system.gateways.rest.gateway import RestGateway


async def gateway(request: Request) -> RestGateway:
    """The gateway (``async``: a plain ``def`` dependency would run in a worker thread)."""
    gw: RestGateway = request.app.state.gateway
    return gw
