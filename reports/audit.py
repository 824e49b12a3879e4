"""The audit report of one log: a single self-contained HTML file (no scripts, no external files).

Sections: the run's manifest and the integrity verdict of its hash chain; the trade blotter;
an OHLC chart per instrument (inline SVG); positions and P&L by account at the end of the log;
every correction with the two views it separates (as known just before it, and after).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from sim.replay import as_of, ensure_index, recorded_config, recorded_manifest
from sim.replay.export import Book, bars_frame, trades_frame
from sim.replay.views import positions
from system.clock import iso
from system.corrections import LateTradeReported, PriceCorrected, TradeBusted, TradeCorrected
from system.eventlog import EventStore, Verdict, verify

_CORRECTIONS = (TradeBusted, TradeCorrected, LateTradeReported, PriceCorrected)
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}
td.l,th.l{text-align:left}.ok{color:#070;font-weight:bold}.bad{color:#b00;font-weight:bold}
.note{color:#666;font-size:.85em}svg{background:#fcfcfc;border:1px solid #eee}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _table(head: list[str], rows: Iterable[list[Any]], left: int = 0) -> str:
    h = "".join(f'<th class="{"l" if i < left else ""}">{_e(c)}</th>' for i, c in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if i < left else ""}">{_e(c)}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{h}</tr>{body}</table>"


def _scaled(x: Any, increment: str) -> str:
    """An int instrument unit as the decimal people read (reports are an edge of the system)."""
    if x is None or x == "" or (isinstance(x, float) and x != x):
        return ""
    return str(int(x) * Decimal(increment))


def ohlc_svg(
    bars: pd.DataFrame, tz: str, width: int = 900, height: int = 260, price_increment: str = "1"
) -> str:
    """Candlesticks for one instrument's bars (columns start, open, high, low, close, volume)."""
    if bars.empty:
        return '<p class="note">no trades</p>'
    lo, hi = int(bars["low"].min()), int(bars["high"].max())
    span = max(hi - lo, 1)
    pad, n = 40, len(bars)
    step = (width - 2 * pad) / max(n, 1)

    def y(p: int) -> float:
        return pad / 2 + (hi - p) * (height - pad) / span

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    def px(v: Any) -> str:
        return _scaled(v, price_increment)

    parts.append(f'<text x="2" y="{y(hi) + 4:.1f}" font-size="10">{px(hi)}</text>')
    parts.append(f'<text x="2" y="{y(lo) + 4:.1f}" font-size="10">{px(lo)}</text>')
    for i, b in enumerate(bars.itertuples()):
        x = pad + i * step + step / 2
        up = b.close >= b.open
        color = "#2a7" if up else "#c33"
        top, bot = y(max(b.open, b.close)), y(min(b.open, b.close))
        w = max(step * 0.6, 1)
        when = iso(int(b.start.value), tz)[11:16]
        parts.append(
            f"<g><title>{_e(when)} O {px(b.open)} H {px(b.high)} L {px(b.low)} C {px(b.close)} "
            f"V {b.volume}</title>"
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(b.high):.1f}" y2="{y(b.low):.1f}" stroke="{color}"/>'
            f'<rect x="{x - w / 2:.1f}" y="{top:.1f}" width="{w:.1f}" '
            f'height="{max(bot - top, 1):.1f}" fill="{color}"/></g>'
        )
    first, last = bars["start"].iloc[0], bars["start"].iloc[-1]
    parts.append(
        f'<text x="{pad}" y="{height - 4}" font-size="10">{_e(iso(int(first.value), tz)[11:16])}</text>'
    )
    parts.append(
        f'<text x="{width - pad - 30}" y="{height - 4}" font-size="10">'
        f"{_e(iso(int(last.value), tz)[11:16])}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _zone(store: EventStore) -> str:
    cfg = recorded_config(store)
    if cfg.venues:
        try:
            from sim.clock.registry import venue_calendar

            return venue_calendar(cfg.venues[0]).tz
        except Exception:  # an unknown venue still reports, in UTC
            return "UTC"
    return "UTC"


def render(
    store: EventStore,
    *,
    title: str = "",
    tz: str | None = None,
    max_rows: int = 2_000,
    bar: str = "5min",
    verdict: Verdict | None = None,
    cache: str | Path | None = None,
) -> str:
    """The report as one HTML string. ``verdict`` is the log's, if the caller has verified it.

    A log that does not verify gets a page that says TAMPERED in its title and first line, and
    no section computed from it (the CLI writes one only with ``--allow-tampered``)."""
    zone = tz or _zone(store)
    verdict = verdict if verdict is not None else verify(store)
    started, _ = recorded_manifest(store)
    head = store.head()
    name = title or "Chronex audit"
    if not verdict.ok:
        name = f"TAMPERED LOG: {name}"
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(name)}</title>"]
    out.append(f"<style>{_CSS}</style></head><body>")
    if not verdict.ok:
        out.append(f'<p class="bad">TAMPERED LOG: it fails verification ({_e(verdict)}).</p>')
    out.append(f"<h1>Audit report {_e(title)}</h1>")
    if started is not None:
        out.append(_table(
            ["seed", "code", "config hash", "calendar data", "started", "head seq", "head hash"],
            [[started.seed, started.code_version, started.config_hash[:16], started.calendar_version,
              iso(started.start_time, zone), head.seq, head.hash.hex()[:16]]],
        ))  # fmt: skip
    cls = "ok" if verdict.ok else "bad"
    out.append(
        f'<h2>Integrity</h2><p class="{cls}">'
        f"{_e('VERIFIED' if verdict.ok else 'TAMPERED')}: {_e(verdict)}</p>"
    )
    if not verdict.ok:
        out.append('<p class="note">The log does not verify; nothing below can be trusted.</p></body></html>')
        return "".join(out)

    book = Book().fold(store.read(1))
    trades = trades_frame(store, book)
    out.append("<h2>Prices</h2><p class='note'>OHLC per instrument from the corrected trades "
               f"({_e(bar)} bars, times in {_e(zone)}).</p>")  # fmt: skip
    bars = bars_frame(store, bar, book)
    for inst in sorted(set(trades["instrument"])):
        chart = ohlc_svg(bars[bars["instrument"] == inst], zone, price_increment=_increments(trades, inst)[0])
        out.append(f"<h3>{_e(inst)}</h3>" + chart)

    idx = ensure_index(store, cache=cache)
    end = as_of(store, idx.last_valid, index=idx, cache=cache)
    out.append(f"<h2>Positions and P&amp;L</h2><p class='note'>{_e(end.basis.describe(zone))}; "
               "P&amp;L = position at the mark less its cost (cost in the quote currency).</p>")  # fmt: skip
    out.append(_table(
        ["account", "instrument", "qty", "mark", "P&L", "currency"],
        ([p["account"], p["instrument"], *_qty_mark(trades, p), p.get("pnl_amount"), p.get("currency", "")]
         for p in positions(end)),
        left=2,
    ))  # fmt: skip

    out.append("<h2>Corrections</h2>")
    corr = [e for e in store.read(1) if isinstance(e.record, _CORRECTIONS)]
    if not corr:
        out.append("<p class='note'>none</p>")
    for e in corr:
        rec = e.record
        payload = msgspec.to_builtins(rec)
        # Prices and quantities in the instrument's units, times in the report's zone, as the
        # rest of the report shows them (the raw integers read as 28535 for 2853.5).
        pinc_, qinc_ = _increments(trades, getattr(rec, "instrument", ""))
        for f in ("price", "old_price"):
            if f in payload:
                payload[f] = _scaled(payload[f], pinc_)
        for f in ("qty", "old_qty"):
            if f in payload:
                payload[f] = _scaled(payload[f], qinc_)
        for f in ("trade_time", "at"):
            if isinstance(payload.get(f), int):
                payload[f] = iso(payload[f], zone)
        out.append(
            f"<h3>{_e(e.type)} (seq {e.seq})</h3><p>recorded {_e(iso(e.recorded_time, zone))}, "
            f"amends {_e(iso(e.valid_time, zone))}: "
            f"{_e(' '.join(f'{k}={v}' for k, v in payload.items()))}</p>"
        )
        accounts = {getattr(rec, "buy_account", None), getattr(rec, "sell_account", None)} - {None}
        inst = getattr(rec, "instrument", "")
        before = as_of(store, idx.last_valid, known_at=e.recorded_time - 1, index=idx, cache=cache)
        after = as_of(store, idx.last_valid, known_at=e.recorded_time, index=idx, cache=cache)
        pb = {(p["account"], p["instrument"]): p for p in positions(before)}
        pa = {(p["account"], p["instrument"]): p for p in positions(after)}
        keys = sorted(k for k in pb.keys() | pa.keys() if k[1] == inst and (not accounts or k[0] in accounts))
        mb, ma = before.ledger.mark(inst), after.ledger.mark(inst)
        rows: list[list[Any]] = []
        for k in keys:
            b, a = pb.get(k, {}), pa.get(k, {})
            rows.append([k[0], k[1], b.get("qty"), a.get("qty"), b.get("pnl_amount"), a.get("pnl_amount")])
        pinc = _increments(trades, inst)[0]
        marks = [_scaled(m.price, pinc) if m else "" for m in (mb, ma)]
        rows.append(["mark", inst, "", "", *marks])
        out.append(
            _table(
                ["account", "instrument", "qty before", "qty after", "P&L before", "P&L after"], rows, left=2
            )
        )
    out.append(f"<h2>Trade blotter</h2><p class='note'>{len(trades)} trades"
               f"{f', the first {max_rows} shown (chronex export has all)' if len(trades) > max_rows else ''}"
               ".</p>")  # fmt: skip
    out.append(_table(
        ["time", "trade", "instrument", "price", "qty", "buyer", "seller", "aggressor", "status"],
        ([iso(int(r.time_ns), zone), r.trade_id, r.instrument, _scaled(r.price, r.price_increment),
          _scaled(r.qty, r.qty_increment), r.buy_account, r.sell_account, r.aggressor, r.status]
         for r in trades.head(max_rows).itertuples()),
        left=0,
    ))  # fmt: skip

    out.append("</body></html>")
    return "".join(out)


def _increments(trades: pd.DataFrame, inst: str) -> tuple[str, str]:
    rows = trades[trades["instrument"] == inst]
    if rows.empty:
        return ("1", "1")
    return (str(rows["price_increment"].iloc[0]), str(rows["qty_increment"].iloc[0]))


def _qty_mark(trades: pd.DataFrame, p: dict[str, Any]) -> list[str]:
    pinc, qinc = _increments(trades, p["instrument"])
    return [_scaled(p["qty"], qinc), _scaled(p["mark"], pinc)]


def write(store: EventStore, path: str | Path, **kw: Any) -> Path:
    p = Path(path)
    p.write_text(render(store, **kw), encoding="utf-8")
    return p
