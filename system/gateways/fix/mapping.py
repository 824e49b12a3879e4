"""FIX 4.4 values and the engine's, both ways, and the gateway's read model of one order.

The code tables (Side, OrdType, TimeInForce, SelfTradePreventionInstruction, ExecInst), the
engine's reject reasons as OrdRejReason/CxlRejReason, FIX decimals as int units by an
instrument's increments (``EdgeReject`` for a value that is not one), ``FixOrder``, what the
gateway knows of one order for its ExecutionReports, the ExecType an engine event gives an order
(``exec_type_of``) and the ClOrdID a command id carries (``wire_clordid``). ``orders.py`` holds
the application that uses them; the BDD drivers and the hedging venue read the same tables.
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import msgspec

from system.engine import (
    Instrument,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReplaced,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
    TradeExecuted,
)
from system.gateways.fix.dictionary import Dictionary, FieldDef, load_dictionary

STP_TAG = 7928
"""SelfTradePreventionInstruction (user-defined; FIX 4.4 has none): 0 none, 1 cancel newest,
2 cancel oldest, 3 cancel both, 4 decrement."""

ANY_ACCOUNT = "*"

SIDES = {b"1": Side.BUY, b"2": Side.SELL}
SIDE_CODE = {Side.BUY: "1", Side.SELL: "2"}
ORD_TYPES = {b"1": OrderType.MARKET, b"2": OrderType.LIMIT, b"3": OrderType.STOP, b"4": OrderType.STOP_LIMIT}
ORD_TYPE_CODE = {v: k.decode() for k, v in ORD_TYPES.items()}
TIFS = {
    b"0": TimeInForce.DAY,
    b"1": TimeInForce.GTC,
    b"2": TimeInForce.ATO,
    b"3": TimeInForce.IOC,
    b"4": TimeInForce.FOK,
    b"6": TimeInForce.GTD,
    b"7": TimeInForce.ATC,
}
TIF_CODE = {v: k.decode() for k, v in TIFS.items()}
STPS = {
    b"0": SelfTradePrevention.NONE,
    b"1": SelfTradePrevention.CANCEL_NEWEST,
    b"2": SelfTradePrevention.CANCEL_OLDEST,
    b"3": SelfTradePrevention.CANCEL_BOTH,
    b"4": SelfTradePrevention.DECREMENT,
}
STP_CODE = {v: k.decode() for k, v in STPS.items()}
POST_ONLY = "6"  # ExecInst: Participate don't initiate

# OrdRejReason (103) for each engine reason; 99 (Other) where FIX has no closer code.
ORD_REJ: dict[RejectReason, int] = {
    RejectReason.UNKNOWN_INSTRUMENT: 1,
    RejectReason.INVALID_INSTRUMENT: 1,
    RejectReason.WRONG_PHASE: 2,
    RejectReason.UNKNOWN_ORDER: 5,
    RejectReason.ORDER_CLOSED: 5,
    RejectReason.DUPLICATE_CLIENT_ORDER_ID: 6,
    RejectReason.INVALID_ORDER_TYPE: 11,
    RejectReason.INVALID_TIF: 11,
    RejectReason.INVALID_DISPLAY_QTY: 11,
    RejectReason.INVALID_EXPIRE_TIME: 11,
    RejectReason.INVALID_QTY: 13,
    RejectReason.OFF_LOT: 13,
    RejectReason.QTY_BELOW_MIN: 13,
    RejectReason.QTY_ABOVE_MAX: 13,
    RejectReason.WRONG_ACCOUNT: 15,
    RejectReason.OUTSIDE_PRICE_LIMITS: 16,
    RejectReason.OUTSIDE_PRICE_BAND: 16,
    RejectReason.OFF_TICK: 18,
}
for _r in RejectReason:
    if _r.name.startswith("RISK_") and _r not in (RejectReason.RISK_NO_PRICE, RejectReason.RISK_NO_FX_RATE):
        ORD_REJ[_r] = 3  # Order exceeds limit

# CxlRejReason (102).
CXL_REJ: dict[RejectReason, int] = {
    RejectReason.ORDER_CLOSED: 0,  # too late to cancel
    RejectReason.UNKNOWN_ORDER: 1,
    RejectReason.WRONG_PHASE: 2,
    RejectReason.DUPLICATE_CLIENT_ORDER_ID: 6,
}


def ord_rej_reason(reason: RejectReason) -> int:
    return ORD_REJ.get(reason, 99)


def cxl_rej_reason(reason: RejectReason) -> int:
    return CXL_REJ.get(reason, 99)


def chronex_dictionary(base: Dictionary | None = None) -> Dictionary:
    """The FIX 4.4 dictionary plus Chronex's user-defined order tags (STP)."""
    d = copy.copy(base if base is not None else load_dictionary())
    d.fields = dict(d.fields)
    d.fields[STP_TAG] = FieldDef(STP_TAG, "SelfTradePreventionInstruction", "CHAR", frozenset(STPS))
    return d


class EdgeReject(Exception):
    """A request refused at the gateway (nothing logged): OrdRejReason/CxlRejReason and a Text."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


def wire_decimal(v: bytes | None, tag: int) -> Decimal | None:
    if v is None:
        return None
    try:
        d = Decimal(v.decode("latin-1"))
    except InvalidOperation:
        raise EdgeReject(99, f"tag {tag} value {v!r} is not a number") from None
    if not d.is_finite():
        raise EdgeReject(99, f"tag {tag} value {v!r} is not a finite number")
    return d


def to_units(d: Decimal, inc: str, what: str, inst: Instrument, reason: int) -> int:
    u = d / Decimal(inc)
    if u != u.to_integral_value():
        raise EdgeReject(reason, f"{what} {d} is not a multiple of increment {inc} for {inst.id}")
    return int(u)


# (wire text, increment) -> units, for values that converted: order flow repeats a few prices and
# quantities, and two Decimal conversions were a tenth of decoding a NewOrderSingle. Bounded.
_WIRE_UNITS: dict[tuple[bytes, str], int] = {}
_MAX_WIRE_UNITS = 65536


def wire_units(v: bytes | None, tag: int, inc: str, what: str, inst: Instrument, reason: int) -> int | None:
    """``to_units(wire_decimal(v))``, None for an absent tag; EdgeReject as they raise it."""
    if v is None:
        return None
    u = _WIRE_UNITS.get((v, inc))
    if u is not None:
        return u
    d = wire_decimal(v, tag)
    assert d is not None
    u = to_units(d, inc, what, inst, reason)
    if len(_WIRE_UNITS) < _MAX_WIRE_UNITS:
        _WIRE_UNITS[(v, inc)] = u
    return u


def fmt_decimal(d: Decimal) -> str:
    """FIX text for a decimal: no exponent, no trailing zeros."""
    s = format(d.normalize(), "f")
    return s


@lru_cache(maxsize=65536)
def _text(increment: str, units: int) -> str:
    # Reports repeat a few prices and quantities; Decimal formatting was a visible share of an ER.
    return fmt_decimal(units * Decimal(increment))


@lru_cache(maxsize=65536)
def units_bytes(increment: str, units: int) -> bytes:
    return _text(increment, units).encode("latin-1")


@lru_cache(maxsize=4096)
def _symbol(instrument: str) -> bytes:
    if "\x01" in instrument:
        raise ValueError(f"instrument id {instrument!r} holds SOH")
    return instrument.encode("latin-1")


def price_text(inst: Instrument, units: int) -> str:
    return _text(inst.price_increment, units)


def qty_text(inst: Instrument, units: int) -> str:
    return _text(inst.qty_increment, units)


# -- the gateway's order read model -------------------------------------------------------------
class FixOrder(msgspec.Struct, gc=False):
    """What the gateway knows of one order for its ExecutionReports (fed by routed events).

    Untracked by the cycle collector (``gc=False``; nothing in it refers back to it): every open
    order of a served day is one of these, and as tracked objects they filled the collector's
    middle generation, whose collections paused the whole server (REST queries included) for
    tens of milliseconds. The caches below are flat tuples of atoms for the same reason: a tuple
    holding a tuple can outlive a young collection still tracked.
    """

    order_id: int
    account: str
    inst: Instrument
    side: Side
    ord_type: OrderType
    tif: TimeInForce
    price: int | None
    qty: int
    cl_ord_id: str
    orig_cl_ord_id: str = ""
    cum: int = 0
    value: int = 0  # sum of price * qty of the fills, in price units x qty units
    leaves: int = 0
    status: str = "0"  # OrdStatus
    # The ExecutionReport's fixed runs of fields, encoded once and rebuilt when what they hold
    # changes (a cancel or replace renames the order; a replace or reduce resizes it).
    _ids: tuple[str, str, bytes] | None = None  # (cl_ord_id, orig_cl_ord_id, encoded)
    _terms: tuple[int, int | None, bytes] | None = None  # (qty, price, encoded)

    def avg_px(self) -> str:
        if not self.cum:
            return "0"
        return fmt_decimal(Decimal(self.value) / self.cum * Decimal(self.inst.price_increment))

    def ids_part(self) -> bytes:
        """OrderID, ClOrdID, OrigClOrdID (when set) and Account, encoded."""
        clid, orig, acc = self.cl_ord_id, self.orig_cl_ord_id, self.account
        got = self._ids
        if got is not None and got[0] == clid and got[1] == orig:
            return got[2]
        if "\x01" in clid or "\x01" in orig or "\x01" in acc:
            raise ValueError(f"order {self.order_id}: an id holds SOH ({clid!r}, {orig!r}, {acc!r})")
        raw = b"37=%d\x0111=%s\x01%s1=%s\x01" % (
            self.order_id,
            clid.encode("latin-1"),
            b"41=%s\x01" % orig.encode("latin-1") if orig else b"",
            acc.encode("latin-1"),
        )
        self._ids = (clid, orig, raw)
        return raw

    def terms_part(self) -> bytes:
        """Symbol, Side, OrderQty, OrdType, Price (when set) and TimeInForce, encoded."""
        qty, price = self.qty, self.price
        got = self._terms
        if got is not None and got[0] == qty and got[1] == price:
            return got[2]
        inst = self.inst
        raw = b"55=%s\x0154=%s\x0138=%s\x0140=%s\x01%s59=%s\x01" % (
            _symbol(inst.id),
            SIDE_CODE[self.side].encode(),
            units_bytes(inst.qty_increment, self.qty),
            ORD_TYPE_CODE[self.ord_type].encode(),
            b"" if self.price is None else b"44=%s\x01" % units_bytes(inst.price_increment, self.price),
            TIF_CODE[self.tif].encode(),
        )
        self._terms = (qty, price, raw)
        return raw


def wire_clordid(cid: str, default: str) -> str:
    """The ClOrdID a command id carries (``QA1/o1`` -> ``o1``; ``QA1/F:c1`` -> ``c1``)."""
    _, sep, tail = cid.partition("/")
    if not sep:
        return default
    head, colon, rest = tail.partition(":")
    return rest if colon and head in ("F", "G", "q") else tail


def exec_type_of(rec: object, o: FixOrder) -> tuple[str, tuple[int, int] | None]:
    """The ExecType (150) an engine event gives one of its orders, and for a fill its
    (LastPx, LastQty) in units (the cross price on the order's own book)."""
    if isinstance(rec, OrderAccepted):
        return "0", None
    if isinstance(rec, TradeExecuted):
        px = rec.price
        if rec.cross_instrument == o.inst.id and rec.cross_price is not None:
            px = rec.cross_price
        return "F", (px, rec.qty)
    if isinstance(rec, OrderCancelled):
        return "4", None
    if isinstance(rec, OrderExpired):
        return "C", None
    if isinstance(rec, OrderReplaced):
        return "5", None
    return "D", None  # restated (STP decrement)
