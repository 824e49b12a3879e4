"""Reference data: what an instrument is and the one place where prices and quantities cross
between ``Decimal`` (the edges: users, files, FIX) and ``int`` (everything inside).

An int price counts ``price_increment`` units: with increment ``"0.1"`` the int 25001 is 2500.1.
Tick tables, limits and bands are all in those int units.

Tick table rows ``(from_price, tick)`` apply to prices strictly above ``from_price`` (TSE's
"over 3,000 yen up to 5,000 yen: 5 yen"); the first row starts at 0. A fixed tick is one row.
Price-limit width rows ``(from_price, width)`` apply to base prices at or above ``from_price``
(TSE's "100 yen or more, less than 200 yen: 50 yen").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec

from system.engine.orders import BandAction

TickTable = tuple[tuple[int, int], ...]
WidthTable = tuple[tuple[int, int], ...]


class PriceLimits(msgspec.Struct, frozen=True):
    """Daily price limits around the base (reference) price: a width table or a percent."""

    widths: WidthTable = ()
    percent_bp: int = 0  # used when widths is empty; 1000 = 10%


class PriceBand(msgspec.Struct, frozen=True):
    """A dynamic band (circuit breaker) around the oldest trade price of the last ``window_ns``."""

    percent_bp: int  # 500 = 5%
    window_ns: int
    action: BandAction = BandAction.REJECT
    halt_ns: int = 0  # how long a HALT lasts; resumed by ExpireDue at engine.next_expiry()


class Instrument(msgspec.Struct, frozen=True):
    id: str  # "XTKS:7203"
    venue: str  # "XTKS"
    symbol: str  # "7203"
    base_currency: str  # what is bought: "7203", "BTC"
    quote_currency: str  # what prices are in: "JPY"
    price_increment: str = "1"  # decimal value of one int price unit
    qty_increment: str = "1"  # decimal value of one int quantity unit
    tick_table: TickTable = ((0, 1),)  # in price units
    lot_size: int = 1  # in quantity units
    min_qty: int = 1
    max_qty: int = 0  # 0: no maximum
    reference_price: int | None = None  # the base for limits, auctions and bands until one is set
    price_limits: PriceLimits | None = None
    price_band: PriceBand | None = None
    multiplier: str = "1"  # contract size: notional = price * qty * multiplier
    cross_group: str = ""  # books with the same group (e.g. "BTC") can match across currencies

    def tick_at(self, price: int) -> int:
        """The tick that applies at ``price`` (int units)."""
        tick = self.tick_table[0][1]
        for frm, t in self.tick_table:
            if price > frm:
                tick = t
            else:
                break
        return tick

    def problem(self) -> str | None:
        """Why this definition is unusable, or None if it is fine."""
        for name in ("price_increment", "qty_increment", "multiplier"):
            try:
                d = Decimal(getattr(self, name))
            except InvalidOperation:
                return f"{name} {getattr(self, name)!r} is not a decimal for {self.id}"
            if not d.is_finite() or d <= 0:
                return f"{name} {getattr(self, name)!r} must be positive for {self.id}"
        if not self.id or not self.venue:
            return "instrument id and venue must not be empty"
        if not self.tick_table or self.tick_table[0][0] != 0:
            return f"tick table of {self.id} must start at price 0"
        prev = -1
        for frm, t in self.tick_table:
            if frm <= prev or t <= 0:
                return f"tick table of {self.id} must have rising prices and positive ticks"
            prev = frm
        if self.lot_size <= 0 or self.min_qty <= 0 or self.max_qty < 0:
            return f"lot size and quantity bounds of {self.id} must be positive"
        if self.reference_price is not None and self.reference_price <= 0:
            return f"reference price {self.reference_price} of {self.id} must be positive"
        lim = self.price_limits
        if lim is not None and (lim.percent_bp < 0 or any(w <= 0 for _, w in lim.widths)):
            return f"price limits of {self.id} must be positive"
        band = self.price_band
        if band is not None and (band.percent_bp <= 0 or band.window_ns < 0 or band.halt_ns < 0):
            return f"price band of {self.id} must have a positive percent and window"
        return None


def limit_width(inst: Instrument, base: int) -> int | None:
    """The daily limit width around ``base`` (int units), or None without limits."""
    lim = inst.price_limits
    if lim is None:
        return None
    if lim.widths:
        width = lim.widths[0][1]
        for frm, w in lim.widths:
            if base >= frm:
                width = w
            else:
                break
        return width
    if lim.percent_bp:
        return base * lim.percent_bp // 10_000
    return None


# -- Decimal <-> int at the edges ------------------------------------------------------------------
def _dec(value: Decimal | str | int, what: str, inst: Instrument) -> Decimal:
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what} {value!r} is not a number for {inst.id}") from None
    if not d.is_finite():
        raise ValueError(f"{what} {value} is not a finite number for {inst.id}")
    return d


def price_to_int(inst: Instrument, price: Decimal | str | int) -> int:
    """``price`` in int units; raises ValueError if it is off the increment or off the tick."""
    d = _dec(price, "price", inst)
    inc = Decimal(inst.price_increment)
    units = d / inc
    if units != units.to_integral_value():
        raise ValueError(f"price {d} is not a multiple of tick {inc} for {inst.id}")
    n = int(units)
    if n <= 0:
        raise ValueError(f"price {d} must be positive for {inst.id}")
    tick = inst.tick_at(n)
    if n % tick:
        raise ValueError(f"price {d} is not a multiple of tick {tick * inc} for {inst.id}")
    return n


def price_to_decimal(inst: Instrument, price: int) -> Decimal:
    return price * Decimal(inst.price_increment)


def qty_to_int(inst: Instrument, qty: Decimal | str | int) -> int:
    """``qty`` in int units; raises ValueError if it is off the increment or off the lot."""
    d = _dec(qty, "quantity", inst)
    inc = Decimal(inst.qty_increment)
    units = d / inc
    if units != units.to_integral_value():
        raise ValueError(f"quantity {d} is not a multiple of increment {inc} for {inst.id}")
    n = int(units)
    if n <= 0:
        raise ValueError(f"quantity {d} must be positive for {inst.id}")
    if n % inst.lot_size:
        raise ValueError(f"quantity {d} is not a multiple of lot {inst.lot_size * inc} for {inst.id}")
    return n


def qty_to_decimal(inst: Instrument, qty: int) -> Decimal:
    return qty * Decimal(inst.qty_increment)


def notional(inst: Instrument, price: int, qty: int) -> Decimal:
    """price * qty * multiplier in the quote currency."""
    return price_to_decimal(inst, price) * qty_to_decimal(inst, qty) * Decimal(inst.multiplier)


# -- TSE tables ------------------------------------------------------------------------------------
# Upper bounds (yen, inclusive) and ticks of TSE's tables: "up to 3,000 yen: 1 yen", ...
_TSE_STANDARD = (
    (3_000, "1"), (5_000, "5"), (30_000, "10"), (50_000, "50"), (300_000, "100"),
    (500_000, "500"), (3_000_000, "1000"), (5_000_000, "5000"), (30_000_000, "10000"),
    (50_000_000, "50000"), (None, "100000"),
)  # fmt: skip
_TSE_TOPIX100 = (
    (1_000, "0.1"), (3_000, "0.5"), (10_000, "1"), (30_000, "5"), (100_000, "10"),
    (300_000, "50"), (1_000_000, "100"), (3_000_000, "500"), (10_000_000, "1000"),
    (30_000_000, "5000"), (None, "10000"),
)  # fmt: skip
# Lower bounds (yen, inclusive) of TSE's daily limit table and the widths.
_TSE_LIMITS = (
    (0, 30), (100, 50), (200, 80), (500, 100), (700, 150), (1_000, 300), (1_500, 400),
    (2_000, 500), (3_000, 700), (5_000, 1_000), (7_000, 1_500), (10_000, 3_000), (15_000, 4_000),
    (20_000, 5_000), (30_000, 7_000), (50_000, 10_000), (70_000, 15_000), (100_000, 30_000),
    (150_000, 40_000), (200_000, 50_000), (300_000, 70_000), (500_000, 100_000),
    (700_000, 150_000), (1_000_000, 300_000), (1_500_000, 400_000), (2_000_000, 500_000),
    (3_000_000, 700_000), (5_000_000, 1_000_000), (7_000_000, 1_500_000),
    (10_000_000, 3_000_000), (15_000_000, 4_000_000), (20_000_000, 5_000_000),
    (30_000_000, 7_000_000), (50_000_000, 10_000_000),
)  # fmt: skip


def _units(value: Decimal, inc: Decimal, what: str) -> int:
    u = value / inc
    if u != u.to_integral_value():
        raise ValueError(f"{what} {value} is not a multiple of price increment {inc}")
    return int(u)


def tse_tick_table(price_increment: str = "1", *, topix100: bool = False) -> TickTable:
    """TSE's standard (or TOPIX100) tick table in units of ``price_increment``."""
    inc = Decimal(price_increment)
    rows: list[tuple[int, int]] = []
    frm = 0
    for upper, tick in _TSE_TOPIX100 if topix100 else _TSE_STANDARD:
        rows.append((frm, _units(Decimal(tick), inc, "tick")))
        if upper is not None:
            frm = _units(Decimal(upper), inc, "band")
    return tuple(rows)


def tse_price_limits(price_increment: str = "1") -> PriceLimits:
    """TSE's daily price limit widths by base price, in units of ``price_increment``."""
    inc = Decimal(price_increment)
    return PriceLimits(
        widths=tuple(
            (_units(Decimal(f), inc, "band"), _units(Decimal(w), inc, "width")) for f, w in _TSE_LIMITS
        )
    )
