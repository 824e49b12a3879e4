"""Authentication and roles as FastAPI ``Security`` dependencies, checked once per route.

A route names the roles it admits (``Security(allow(Role.QA_ADMIN))``); a handler that touches an
account also calls ``check_account`` so a trader only ever reaches its own accounts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from system.gateways.rest.keys import ApiKey, KeyRing, Role
from system.gateways.rest.problems import Problem

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="a key from --api-keys")

EVERYONE = (Role.TRADER, Role.QA_ADMIN, Role.AUDITOR)
TRADING = (Role.TRADER, Role.QA_ADMIN)  # may send orders
ADMIN = (Role.QA_ADMIN,)
AUDIT = (Role.QA_ADMIN, Role.AUDITOR)


def _keys(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.keys
    return ring


def authenticate(request: Request, key: str | None) -> ApiKey:
    if not key:
        raise Problem(401, "no API key: send one in the X-API-Key header")
    who = _keys(request).get(key)
    if who is None:
        raise Problem(401, "the API key is not one this server knows")
    return who


def allow(*roles: Role) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency admitting ``roles`` only (403 for the others, 401 without a valid key).

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in a worker
    thread, and that hand-off per request cost more than the rest of a read-model query."""
    names = ", ".join(str(r) for r in roles)

    async def dep(request: Request, key: str | None = Security(api_key_header)) -> ApiKey:
        who = authenticate(request, key)
        if who.role not in roles:
            raise Problem(403, f"role {who.role} may not do this (needs {names})")
        return who

    return dep


def check_account(who: ApiKey, account: str) -> None:
    """403 unless ``who`` may act on or see ``account``."""
    if not who.may_see(account):
        raise Problem(403, f"account {account!r} is not one of {who.name}'s accounts")
