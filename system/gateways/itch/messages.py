"""ITCH 5.0 messages: the byte layouts of the published specification and their encoders.

Every message starts with the common header: type (1 byte), stock locate (2), tracking number
(2), timestamp (6 bytes, ns since midnight in the venue's zone). All integers are big-endian;
prices are 4-byte integers with 4 implied decimals; stock symbols are 8 bytes, left-justified and
space-padded. Only the message types Chronex publishes are here (see docs/feeds.md).
"""

from __future__ import annotations

import struct
from typing import Any

# type -> struct layout after the type byte (locate, tracking, timestamp high 2 + low 4 bytes, ...)
_HDR = "HHHI"
LAYOUTS: dict[bytes, str] = {
    b"S": ">" + _HDR + "c",
    b"R": ">" + _HDR + "8sccIcc2scccccIc",
    b"H": ">" + _HDR + "8scc4s",
    b"A": ">" + _HDR + "Qc I8sI".replace(" ", ""),
    b"F": ">" + _HDR + "QcI8sI4s",
    b"E": ">" + _HDR + "QIQ",
    b"C": ">" + _HDR + "QIQcI",
    b"X": ">" + _HDR + "QI",
    b"D": ">" + _HDR + "Q",
    b"U": ">" + _HDR + "QQII",
    b"P": ">" + _HDR + "QcI8sIQ",
    b"Q": ">" + _HDR + "Q8sIQc",
    b"I": ">" + _HDR + "QQc8sIIIcc",
}
STRUCTS: dict[bytes, struct.Struct] = {t: struct.Struct(f) for t, f in LAYOUTS.items()}
FIELDS: dict[str, tuple[str, ...]] = {
    "S": ("event",),
    "R": ("stock", "category", "status", "round_lot", "round_lots_only", "classification", "subtype",
          "authenticity", "short_sale", "ipo", "luld_tier", "etp", "etp_leverage", "inverse"),
    "H": ("stock", "state", "reserved", "reason"),
    "A": ("ref", "side", "shares", "stock", "price"),
    "F": ("ref", "side", "shares", "stock", "price", "mpid"),
    "E": ("ref", "shares", "match"),
    "C": ("ref", "shares", "match", "printable", "price"),
    "X": ("ref", "shares"),
    "D": ("ref",),
    "U": ("ref", "new_ref", "shares", "price"),
    "P": ("ref", "side", "shares", "stock", "price", "match"),
    "Q": ("shares", "stock", "price", "match", "cross_type"),
    "I": ("paired", "imbalance", "direction", "stock", "far", "near", "reference", "cross_type",
          "variation"),
    "G": ("next_seq",),
}  # fmt: skip
"""The names of what ``decode`` returns after the header, per message type (ITCH 5.0's fields)."""
PRICE_FIELDS = frozenset({"price", "far", "near", "reference"})
"""The fields in price units (4 implied decimals)."""
SIZES: dict[bytes, int] = {t: 1 + s.size for t, s in STRUCTS.items()}  # with the type byte
# The same layouts with the type byte in front, for the encoder's hot path: one ``pack`` call
# makes the whole message (no concatenation), with the timestamp passed as its two halves.
WHOLE: dict[bytes, struct.Struct] = {t: struct.Struct(">c" + f[1:]) for t, f in LAYOUTS.items()}

_S = STRUCTS


def _ts(ns: int) -> tuple[int, int]:
    return (ns >> 32) & 0xFFFF, ns & 0xFFFFFFFF


def stock8(symbol: str) -> bytes:
    b = symbol.encode("ascii", "replace")[:8]
    return b.ljust(8, b" ")


def system_event(locate: int, ts: int, code: bytes) -> bytes:
    return b"S" + _S[b"S"].pack(locate, 0, *_ts(ts), code)


def stock_directory(locate: int, ts: int, stock: bytes, round_lot: int) -> bytes:
    return b"R" + _S[b"R"].pack(
        locate, 0, *_ts(ts), stock, b" ", b" ", round_lot, b"N", b"C", b"  ", b"P", b" ", b" ",
        b" ", b"N", 0, b"N",
    )  # fmt: skip


def trading_action(locate: int, ts: int, stock: bytes, state: bytes, reason: bytes = b"    ") -> bytes:
    return b"H" + _S[b"H"].pack(locate, 0, *_ts(ts), stock, state, b" ", reason)


def add_order(locate: int, ts: int, ref: int, side: bytes, shares: int, stock: bytes, price: int) -> bytes:
    return b"A" + _S[b"A"].pack(locate, 0, *_ts(ts), ref, side, shares, stock, price)


def add_order_mpid(
    locate: int, ts: int, ref: int, side: bytes, shares: int, stock: bytes, price: int, mpid: bytes
) -> bytes:
    return b"F" + _S[b"F"].pack(locate, 0, *_ts(ts), ref, side, shares, stock, price, mpid)


def executed(locate: int, ts: int, ref: int, shares: int, match: int) -> bytes:
    return b"E" + _S[b"E"].pack(locate, 0, *_ts(ts), ref, shares, match)


def executed_price(
    locate: int, ts: int, ref: int, shares: int, match: int, printable: bytes, price: int
) -> bytes:
    return b"C" + _S[b"C"].pack(locate, 0, *_ts(ts), ref, shares, match, printable, price)


def cancel(locate: int, ts: int, ref: int, shares: int) -> bytes:
    return b"X" + _S[b"X"].pack(locate, 0, *_ts(ts), ref, shares)


def delete(locate: int, ts: int, ref: int) -> bytes:
    return b"D" + _S[b"D"].pack(locate, 0, *_ts(ts), ref)


def replace(locate: int, ts: int, old: int, new: int, shares: int, price: int) -> bytes:
    return b"U" + _S[b"U"].pack(locate, 0, *_ts(ts), old, new, shares, price)


def trade(
    locate: int, ts: int, ref: int, side: bytes, shares: int, stock: bytes, price: int, match: int
) -> bytes:
    return b"P" + _S[b"P"].pack(locate, 0, *_ts(ts), ref, side, shares, stock, price, match)


def cross_trade(
    locate: int, ts: int, shares: int, stock: bytes, price: int, match: int, kind: bytes
) -> bytes:
    return b"Q" + _S[b"Q"].pack(locate, 0, *_ts(ts), shares, stock, price, match, kind)


def imbalance(
    locate: int,
    ts: int,
    paired: int,
    imb: int,
    direction: bytes,
    stock: bytes,
    near: int,
    ref: int,
    kind: bytes,
) -> bytes:
    return b"I" + _S[b"I"].pack(
        locate, 0, *_ts(ts), paired, imb, direction, stock, near, near, ref, kind, b" "
    )


def end_of_snapshot(next_seq: int) -> bytes:
    """GLIMPSE's last message: the sequence number at which to join the live feed (no header)."""
    return b"G" + str(next_seq).rjust(20).encode()


class BadMessage(ValueError):
    """A message whose type is unknown or whose length does not match its type."""


def decode(msg: bytes) -> tuple[Any, ...]:
    """``(type, locate, tracking, timestamp, *fields)`` of one message; raises ``BadMessage``."""
    t = msg[:1]
    if t == b"G":
        if len(msg) != 21 or not msg[1:].strip().isdigit():
            raise BadMessage("GLIMPSE end of snapshot must carry a 20-digit sequence number")
        return ("G", 0, 0, 0, int(msg[1:]))
    s = STRUCTS.get(t)
    if s is None:
        raise BadMessage(f"unknown ITCH message type {t!r}")
    if len(msg) != s.size + 1:
        raise BadMessage(f"ITCH {t.decode()} message of {len(msg)} bytes, expected {s.size + 1}")
    f = s.unpack_from(msg, 1)
    return (t.decode(), f[0], f[1], (f[2] << 32) | f[3], *f[4:])
