"""Dependencies every router shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from system.gateways.rest.gateway import RestGateway


def gateway(request: Request) -> RestGateway:
    gw: RestGateway = request.app.state.gateway
    return gw
