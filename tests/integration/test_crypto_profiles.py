"""The crypto venues' TOML profiles: seven ship, over three styles; a bad value is a MockError
naming the venue and the field; the catalogue lists every mock of this branch."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mocks.base import MockError
from mocks.catalogue import MOCKS, find
from mocks.crypto import SPECS, parse_profile
from tests.integration.crypto_kit import profile


def test_seven_venues_ship_over_three_api_styles() -> None:
    """Seven crypto venues, every profile valid, every style used."""
    parsed = [parse_profile(profile(s.name)) for s in SPECS]
    assert len(parsed) == 7 and {p.style for p in parsed} == {"binance", "coinbase", "okx"}
    assert [p.name for p in parsed] == [s.name for s in SPECS]
    for s in SPECS:
        assert find(s.name) is s and s.default_profile.exists()
    assert {"wallet", "onboarding"} <= {m.name for m in MOCKS}


def _sym(**over: Any) -> dict[str, Any]:
    return {"symbol": "X", "base": "X", "quote": "Y", "tick": "0.01", "lot": "0.1"} | over


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"style": "kraken"}, "style"),
        ({"recv_window_ms": "5s"}, "recv_window_ms"),
        ({"rate_limit": {"limit": 0}}, "rate_limit.limit"),
        ({"key": []}, "key"),
        ({"key": [{"key": "k", "secret": "s", "account": ""}]}, "key[0].account"),
        ({"symbol": [_sym(tick="0")]}, "symbol[0].tick"),
        ({"symbol": [_sym(lot="abc")]}, "symbol[0].lot"),
        ({"symbol": [_sym(min_qty="0.15")]}, "symbol[0].min_qty"),
        ({"symbol": [_sym(), _sym()]}, "symbol[1].symbol"),
        ({"symbol": [_sym(min_notional=True)]}, "symbol[0].min_notional"),
    ],
)
def test_a_bad_binance_profile_names_the_field(change: dict[str, Any], field: str) -> None:
    """Each bad value raises MockError with the venue and the field in its message."""
    with pytest.raises(MockError, match=f"crypto mock 'binance': {re.escape(field)} = "):
        parse_profile(profile("binance") | change)


def test_coinbase_keys_need_a_base64_secret_and_a_passphrase() -> None:
    """Coinbase-style keys carry a base64 secret and a passphrase, or the profile is refused."""
    raw = profile("coinbase")
    k = raw["key"][0]
    with pytest.raises(MockError, match=re.escape("key[0].secret")):
        parse_profile(raw | {"key": [k | {"secret": "not base64!"}]})
    with pytest.raises(MockError, match=re.escape("key[0].passphrase")):
        parse_profile(raw | {"key": [{kk: v for kk, v in k.items() if kk != "passphrase"}]})
