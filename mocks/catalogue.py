"""Every mock this build has, named here and nowhere else (``chronex mock list`` prints them)."""

from __future__ import annotations

from mocks.base import MockSpec
from mocks.crypto import SPECS as CRYPTO
from mocks.exchange import DEFAULT_PROFILE as EXCHANGE_PROFILE
from mocks.exchange import ExchangeMock
from mocks.kyc import SPEC as ONBOARDING
from mocks.makers import DEFAULT_PROFILE as MAKERS_PROFILE
from mocks.makers import MakersMock
from mocks.oems import DEFAULT_PROFILE as OEMS_PROFILE
from mocks.oems import OemsMock
from mocks.wallet import SPEC as WALLET

__all__ = ["MOCKS", "find"]

# Each entry is a ``MockSpec`` from the mock's own package; ``chronex mock list`` prints them in this order.
MOCKS: tuple[MockSpec, ...] = (
    MockSpec(
        "exchange",
        "external exchange: FIX 4.4 acceptor + ITCH 5.0 feed over a venue profile (hedge and route here)",
        EXCHANGE_PROFILE,
        ExchangeMock,
    ),
    MockSpec(
        "makers",
        "market makers: FIX initiators streaming two-sided quotes into chronex serve around a fair value",
        MAKERS_PROFILE,
        MakersMock,
        replay_role="dial",
    ),
    MockSpec(
        "oems",
        "equities OEMS, Tora style: FIX acceptor with custom tags, routing client orders to chronex serve",
        OEMS_PROFILE,
        OemsMock,
    ),
    *CRYPTO,
    WALLET,
    ONBOARDING,
)


def find(name: str) -> MockSpec | None:
    for spec in MOCKS:
        if spec.name == name:
            return spec
    return None
