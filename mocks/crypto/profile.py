"""A crypto venue's TOML profile, validated once into frozen values.

```toml
name = "binance"
style = "binance"              # binance | coinbase | okx: the API it speaks
recv_window_ms = 5000          # how far a signed timestamp may be from the venue's (virtual) now
log = "memory://"              # where its orders are logged (any Chronex log URL)
[rate_limit]
limit = 1200                   # cost units per window (Binance: request weight per minute)
window_s = 60
[[key]]
key = "k-alice"
secret = "s-alice"
passphrase = ""                # coinbase and okx keys carry one
account = "alice"
[[symbol]]
symbol = "BTCUSDT"             # the venue's own name for the pair
base = "BTC"
quote = "USDT"
tick = "0.01"                  # price increment
lot = "0.00001"                # quantity increment
min_qty = "0.00001"
min_notional = "5"             # price * qty at least this (quote currency)
```

Every bad value raises ``MockError`` naming the venue, the field and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from mocks.base import MockError

__all__ = ["STYLES", "ApiKeyEntry", "SymbolRule", "VenueProfile", "parse_profile"]

STYLES = ("binance", "coinbase", "okx")


@dataclass(frozen=True)
class SymbolRule:
    symbol: str
    base: str
    quote: str
    tick: Decimal
    lot: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclass(frozen=True)
class ApiKeyEntry:
    key: str
    secret: str
    passphrase: str
    account: str


@dataclass(frozen=True)
class VenueProfile:
    name: str
    style: str
    recv_window_ms: int
    log: str
    rate_limit: int
    window_s: int
    keys: tuple[ApiKeyEntry, ...]
    symbols: tuple[SymbolRule, ...]

    def symbol(self, name: str) -> SymbolRule | None:
        for s in self.symbols:
            if s.symbol == name:
                return s
        return None

    def key(self, key: str) -> ApiKeyEntry | None:
        for k in self.keys:
            if k.key == key:
                return k
        return None


class _Fields:
    """Reads one table, naming ``where`` in every error."""

    def __init__(self, venue: str, where: str, table: Any) -> None:
        self.venue, self.where = venue, where
        if not isinstance(table, dict):
            self.fail("", table, "is not a table")
        self.table: dict[str, Any] = table

    def fail(self, field: str, value: Any, why: str) -> None:
        name = f"{self.where}.{field}" if self.where and field else (field or self.where)
        raise MockError(f"crypto mock {self.venue!r}: {name} = {value!r} {why}")

    def text(self, field: str, default: str | None = None) -> str:
        v = self.table.get(field, default)
        if v is None:
            self.fail(field, v, "is missing")
        if not isinstance(v, str) or (default is None and not v):
            self.fail(field, v, "must be a non-empty string")
        return str(v)

    def integer(self, field: str, default: int, *, low: int = 1) -> int:
        v = self.table.get(field, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            self.fail(field, v, f"must be an integer >= {low}")
        return int(v)

    def decimal(self, field: str, default: str | None = None, *, zero: bool = False) -> Decimal:
        v = self.table.get(field, default)
        if v is None:
            self.fail(field, v, "is missing")
        try:
            d = Decimal(str(v)) if isinstance(v, (str, int)) and not isinstance(v, bool) else None
        except InvalidOperation:
            d = None
        if d is None or not d.is_finite() or d < 0 or (d == 0 and not zero):
            self.fail(field, v, "must be a positive decimal string")
        assert d is not None
        return d


def parse_profile(raw: dict[str, Any]) -> VenueProfile:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise MockError(f"crypto mock profile: name = {name!r} must be a non-empty string")
    top = _Fields(name, "", raw)
    style = top.text("style")
    if style not in STYLES:
        top.fail("style", style, f"is not one of {', '.join(STYLES)}")
    rl = _Fields(name, "rate_limit", raw.get("rate_limit", {}))
    keys = raw.get("key", [])
    if not isinstance(keys, list) or not keys:
        top.fail("key", keys, "must be a non-empty array of tables [[key]]")
    syms = raw.get("symbol", [])
    if not isinstance(syms, list) or not syms:
        top.fail("symbol", syms, "must be a non-empty array of tables [[symbol]]")
    parsed_keys: list[ApiKeyEntry] = []
    for i, k in enumerate(keys):
        f = _Fields(name, f"key[{i}]", k)
        entry = ApiKeyEntry(f.text("key"), f.text("secret"), f.text("passphrase", ""), f.text("account"))
        if style == "coinbase":
            from mocks.crypto import signing

            try:
                signing.coinbase(entry.secret, "0", "GET", "/")
            except ValueError:
                f.fail("secret", entry.secret, "must be base64 (Coinbase secrets are)")
        if style in ("coinbase", "okx") and not entry.passphrase:
            f.fail("passphrase", entry.passphrase, f"must be set for a {style}-style key")
        parsed_keys.append(entry)
    rules: list[SymbolRule] = []
    for i, s in enumerate(syms):
        f = _Fields(name, f"symbol[{i}]", s)
        rule = SymbolRule(
            f.text("symbol"),
            f.text("base"),
            f.text("quote"),
            f.decimal("tick"),
            f.decimal("lot"),
            f.decimal("min_qty", "0", zero=True),
            f.decimal("min_notional", "0", zero=True),
        )
        if rule.min_qty % rule.lot:
            f.fail("min_qty", str(rule.min_qty), f"is not a multiple of lot {rule.lot}")
        if any(r.symbol == rule.symbol for r in rules):
            f.fail("symbol", rule.symbol, "is listed twice")
        rules.append(rule)
    if len({k.key for k in parsed_keys}) != len(parsed_keys):
        top.fail("key", [k.key for k in parsed_keys], "lists one key twice")
    return VenueProfile(
        name=name,
        style=style,
        recv_window_ms=top.integer("recv_window_ms", 5000),
        log=top.text("log", "memory://"),
        rate_limit=rl.integer("limit", 1200),
        window_s=rl.integer("window_s", 60),
        keys=tuple(parsed_keys),
        symbols=tuple(rules),
    )
