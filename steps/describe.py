"""One line per logged event, for failure messages and reports: local time, type, the fields that
matter, prices and quantities as decimals, order ids as the scenario's names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from steps import values as V
from system.engine import Instrument
from system.eventlog import LoggedEvent

PRICE_FIELDS = {
    "price",
    "stop_price",
    "trigger_price",
    "reference_price",
    "cross_price",
    "mark",
    "limit_price",
}
QTY_FIELDS = {"qty", "leaves", "display_qty", "imbalance_qty", "display", "filled"}
ORDER_FIELDS = {"order_id", "buy_order_id", "sell_order_id", "resting_order_id", "aggressor_order_id"}
_SKIP = {
    "time",
    "instrument",
    "client_order_id",
    "fx_mantissa",
    "fx_exponent",
    "fx_base",
    "fx_quote",
    "cross_currency",
    "expire_time",
    "post_only",
    "stp",
    "display_qty",
    "cross_instrument",
    "cross_price",
}


# Every log opens with these; their config blobs only push the interesting lines out of view.
_RUN_HEADERS = {"RunStarted", "RunConfigured"}


def payload(
    ev: LoggedEvent,
    instruments: dict[str, Instrument],
    name_of: Callable[[int | None], str] | None = None,
) -> dict[str, str]:
    """The event's fields as scenario-level strings (decimals, names, enum values)."""
    rec = ev.record
    raw = msgspec.to_builtins(rec) if isinstance(rec, msgspec.Struct) else {}
    if isinstance(raw.get("instrument"), dict):  # a listing carries the whole definition
        raw = {"instrument": raw["instrument"].get("id", "")}
    inst = instruments.get(str(raw.get("instrument", "")))
    # A cross fill's converted price is in the other book's units (the aggressor's).
    cross_inst = instruments.get(str(raw.get("cross_instrument") or ""))
    out: dict[str, str] = {}
    for k, v in raw.items():
        if isinstance(v, dict | list):
            text = str(v)
            out[k] = text if len(text) <= 40 else text[:37] + "..."
        elif v is None:
            out[k] = ""
        elif k == "cross_price" and isinstance(v, int):
            out[k] = V.fmt_price(cross_inst, v)
        elif k in PRICE_FIELDS and isinstance(v, int):
            out[k] = V.fmt_price(inst, v)
        elif k in QTY_FIELDS and isinstance(v, int):
            out[k] = V.fmt_qty(inst, v)
        elif k in ORDER_FIELDS and isinstance(v, int) and name_of is not None:
            out[k] = name_of(v)
        else:
            out[k] = str(v)
    if raw.get("fx_base") and isinstance(raw.get("fx_mantissa"), int):
        out["fx_rate"] = fx_rate(int(raw["fx_mantissa"]), int(raw.get("fx_exponent", 0)))
    return out


def fx_rate(mantissa: int, exponent: int) -> str:
    """mantissa * 10**exponent as plain decimal text (150, 0.0067)."""
    from decimal import Decimal

    return V._plain(Decimal(mantissa).scaleb(exponent))


def line(
    ev: LoggedEvent,
    instruments: dict[str, Instrument],
    tz: ZoneInfo,
    name_of: Callable[[int | None], str] | None = None,
) -> str:
    p = payload(ev, instruments, name_of)
    fields = " ".join(f"{k}={v}" for k, v in p.items() if k not in _SKIP and v not in ("", "0", "False"))
    if p.get("instrument"):
        fields = f"{p['instrument']} {fields}"
    return f"#{ev.seq:<4} {V.local(ev.valid_time, tz)} {ev.type:<18} {fields}".rstrip()


def touches(ev: LoggedEvent, instrument: str | None = None, account: str | None = None) -> bool:
    rec: Any = ev.record
    if instrument is not None:
        if getattr(rec, "instrument", None) == instrument or ev.stream.endswith(instrument):
            return True
        venue = instrument.split(":", 1)[0]
        if getattr(rec, "venue", None) == venue and getattr(rec, "instrument", None) in (None, instrument):
            return True
    if account is not None:
        names = (getattr(rec, a, None) for a in ("account", "buy_account", "sell_account"))
        if account in names:
            return True
    return False


def recent(
    events: Sequence[LoggedEvent],
    instruments: dict[str, Instrument],
    tz: ZoneInfo,
    name_of: Callable[[int | None], str] | None = None,
    *,
    instrument: str | None = None,
    account: str | None = None,
    limit: int = 10,
) -> str:
    """The last ``limit`` events (not commands) of an instrument or account, one per line."""
    picked = [
        e
        for e in events
        if e.record.kind != "command"
        and e.type not in _RUN_HEADERS
        and ((instrument is None and account is None) or touches(e, instrument, account))
    ]
    if not picked:
        return "  (no events)"
    what = instrument or account or "the system"
    head = f"Last {min(limit, len(picked))} events of {what}:"
    return "\n".join([head, *("  " + line(e, instruments, tz, name_of) for e in picked[-limit:])])
