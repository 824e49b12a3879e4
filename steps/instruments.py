"""Instruments a scenario can name without defining them: ``XTKS:7203`` is a TSE equity, ``CME:ESH7``
an index future, ``FX-JP:USD/JPY`` a currency pair, ``CRYPTO:BTC/JPY`` a crypto pair.

These are the harness's defaults; a scenario that needs other terms defines the instrument with
a table ("Given the instrument XTKS:9999 with tick 1 and lot 100").
"""

from __future__ import annotations

from steps.errors import StepInputError
from system.engine import Instrument, tse_price_limits, tse_tick_table

VENUES = ("CME", "CRYPTO", "FX-JP", "XTKS")

# TSE constituents of TOPIX100 trade on the finer tick table.
_TOPIX100 = {"7203", "6758", "9984", "8306", "6861", "9432", "8035", "4063", "6098", "7974"}

_CRYPTO = {
    # symbol: (price increment, qty increment)
    "BTC/JPY": ("1", "0.0001"),
    "BTC/USD": ("0.01", "0.0001"),
    "ETH/BTC": ("0.00001", "0.001"),
    "ETH/JPY": ("1", "0.001"),
}
_FX = {"USD/JPY", "EUR/JPY", "EUR/USD", "GBP/JPY", "AUD/JPY"}
_CME = {"ES": ("0.25", "50"), "NQ": ("0.25", "20"), "NKD": ("5", "5")}  # root: (tick, multiplier)


def default_instrument(ref: str) -> Instrument:
    """The default definition of ``ref`` (VENUE:SYMBOL); a clear error when there is none."""
    venue, sep, symbol = ref.partition(":")
    if not sep or not venue or not symbol:
        raise StepInputError(f"instrument {ref!r} is not VENUE:SYMBOL (like XTKS:7203)")
    if venue not in VENUES:
        raise StepInputError(f"unknown venue {venue!r} in {ref!r} (known venues: {', '.join(VENUES)})")
    if venue == "XTKS":
        if not symbol.isalnum() or len(symbol) != 4:
            raise StepInputError(f"unknown instrument {ref!r}: a TSE code has four characters (XTKS:7203)")
        return Instrument(
            id=ref,
            venue=venue,
            symbol=symbol,
            base_currency=symbol,
            quote_currency="JPY",
            price_increment="0.1",
            tick_table=tse_tick_table("0.1", topix100=symbol in _TOPIX100),
            lot_size=100,
            min_qty=100,
            price_limits=tse_price_limits("0.1"),
        )
    if venue == "CME":
        root = symbol.rstrip("0123456789")[:-1] if len(symbol) > 2 else symbol
        spec = _CME.get(root)
        if spec is None:
            raise StepInputError(
                f"unknown instrument {ref!r} (CME roots: {', '.join(sorted(_CME))}, like CME:ESH7)"
            )
        return Instrument(
            id=ref,
            venue=venue,
            symbol=symbol,
            base_currency=symbol,
            quote_currency="USD",
            price_increment=spec[0],
            multiplier=spec[1],
        )
    if venue == "FX-JP":
        if symbol not in _FX:
            raise StepInputError(f"unknown instrument {ref!r} (FX-JP pairs: {', '.join(sorted(_FX))})")
        base, quote = symbol.split("/")
        return Instrument(
            id=ref,
            venue=venue,
            symbol=symbol,
            base_currency=base,
            quote_currency=quote,
            price_increment="0.001" if quote == "JPY" else "0.00001",
            lot_size=1000,
            min_qty=1000,
        )
    spec2 = _CRYPTO.get(symbol)
    if spec2 is None:
        raise StepInputError(f"unknown instrument {ref!r} (CRYPTO pairs: {', '.join(sorted(_CRYPTO))})")
    base, quote = symbol.split("/")
    return Instrument(
        id=ref,
        venue=venue,
        symbol=symbol,
        base_currency=base,
        quote_currency=quote,
        price_increment=spec2[0],
        qty_increment=spec2[1],
        cross_group=base,
    )
