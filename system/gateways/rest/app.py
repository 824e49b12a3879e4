"""The FastAPI application of the REST gateway: one router per resource, problem+json errors,
the OpenAPI document at ``/openapi.json`` and its docs at ``/docs``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from system.gateways.rest import problems
from system.gateways.rest.routes import accounts, audit, control, market, orders, streams

if TYPE_CHECKING:
    from system.gateways.rest.gateway import RestGateway

DESCRIPTION = """The Chronex trading system over HTTP: orders, read-model queries, streams resumable
from a log seq, clock control and audit. Send an API key in `X-API-Key`. Prices and quantities
are decimal strings; errors are `application/problem+json`."""


def build_app(gateway: RestGateway) -> FastAPI:
    app = FastAPI(title="Chronex REST", version="1", description=DESCRIPTION)
    app.state.gateway = gateway
    app.state.keys = gateway.keys
    problems.install(app)
    for r in (orders.router, market.router, accounts.router, control.router, audit.router, streams.router):
        app.include_router(r)
    return app
