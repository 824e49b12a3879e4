"""The run report: one self-contained HTML page (inline CSS, no scripts to fetch) built from the
per-scenario JSON files the BDD adapters write under ``<dir>/scenarios/``. Per scenario: its
steps with timings and errors, a timeline of its events, and its books over time (a price chart
of best bid, best ask and last trade, and the book at each change)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;
font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.passed{color:#176f2c}.failed{color:#b00020}.skipped,.untested,.undefined{color:#8a6d00}
details{margin:4px 0;border:1px solid #e3e3e3;border-radius:4px;padding:4px 8px}
summary{cursor:pointer}pre{background:#fafafa;border:1px solid #eee;padding:6px;white-space:pre-wrap;
font:12px/1.35 ui-monospace,monospace}.small{font-size:12px;color:#666}.tag{background:#eef;border-radius:3px;
padding:0 4px;margin-right:3px;font-size:12px}svg{background:#fcfcfc;border:1px solid #eee}
td.f{max-width:900px;overflow-wrap:anywhere}
"""

# A run's configuration record is kilobytes of encoded text: the timeline shows its start only.
_CLIP = 240


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[:_CLIP] + f"… ({len(text) - _CLIP} more characters)"


def load(results: Path) -> list[dict[str, Any]]:
    """Every scenario result under ``results/scenarios``, ordered by feature, then scenario."""
    out = []
    for f in sorted((results / "scenarios").glob("*.json")):
        try:
            out.append(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a half-written file from an interrupted run: leave it out
    out.sort(key=lambda d: (str(d.get("feature")), str(d.get("location")), str(d.get("scenario"))))
    return out


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per feature: counts by status and seconds, plus a total row."""
    by: dict[str, dict[str, Any]] = {}
    for r in results:
        row = by.setdefault(
            r["feature"], {"feature": r["feature"], "passed": 0, "failed": 0, "other": 0, "seconds": 0.0}
        )
        key = r["status"] if r["status"] in ("passed", "failed") else "other"
        row[key] += 1
        row["seconds"] += float(r.get("seconds", 0))
    rows = [by[k] for k in sorted(by)]
    total = {
        "feature": "Total",
        "passed": sum(r["passed"] for r in rows),
        "failed": sum(r["failed"] for r in rows),
        "other": sum(r["other"] for r in rows),
        "seconds": sum(r["seconds"] for r in rows),
    }
    return [*rows, total]


def _chart(points: list[dict[str, Any]]) -> str:
    """An inline SVG step chart of best bid, best ask and last price over the book's changes."""
    series: dict[str, list[float | None]] = {"bid": [], "ask": [], "last": []}
    for p in points:
        series["bid"].append(float(p["bids"][0][0]) if p["bids"] else None)
        series["ask"].append(float(p["asks"][0][0]) if p["asks"] else None)
        series["last"].append(float(p["last"]) if p.get("last") else None)
    values = [v for s in series.values() for v in s if v is not None]
    if len(points) < 2 or not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    w, h, pad = 520, 140, 8
    n = len(points)

    def xy(i: int, v: float) -> str:
        return f"{pad + i * (w - 2 * pad) / (n - 1):.1f},{h - pad - (v - lo) / span * (h - 2 * pad):.1f}"

    colours = {"bid": "#176f2c", "ask": "#b00020", "last": "#1f4fb0"}
    paths = []
    for name, vals in series.items():
        pts = [xy(i, v) for i, v in enumerate(vals) if v is not None]
        if pts:
            paths.append(
                f'<polyline fill="none" stroke="{colours[name]}" stroke-width="1.5" '
                f'points="{" ".join(pts)}"/>'
            )
    legend = " ".join(f'<tspan fill="{c}">{k}</tspan>' for k, c in colours.items())
    return (
        f'<svg width="{w}" height="{h + 16}" role="img"><text x="{pad}" y="{h + 12}" font-size="11">{legend} '
        f"({lo:g} .. {hi:g})</text>{''.join(paths)}</svg>"
    )


def _book_table(points: list[dict[str, Any]]) -> str:
    rows = []
    for p in points:
        bids = " ".join(f"{q}@{px}" for px, q in p["bids"])
        asks = " ".join(f"{q}@{px}" for px, q in p["asks"])
        rows.append(
            f"<tr><td>{escape(p['time'])}</td><td>#{p['seq']}</td><td>{escape(p['phase'])}</td>"
            f"<td>{escape(bids)}</td><td>{escape(asks)}</td><td>{escape(p.get('last') or '')}</td></tr>"
        )
    return (
        "<table><tr><th>time</th><th>seq</th><th>phase</th><th>bids (qty@price)</th><th>asks</th>"
        "<th>last</th></tr>" + "".join(rows) + "</table>"
    )


def _scenario(r: dict[str, Any]) -> str:
    st = escape(r["status"])
    tags = "".join(f'<span class="tag">@{escape(t)}</span>' for t in r.get("tags", []))
    steps = "".join(
        f'<tr><td class="{escape(s["status"])}">{escape(s["status"])}</td><td>{escape(s["keyword"])} '
        f"{escape(s['text'])}</td><td>{float(s['seconds']) * 1000:.1f} ms</td></tr>"
        + (
            f'<tr><td></td><td colspan="2"><pre>{escape(s["error"])}</pre></td></tr>'
            if s.get("error")
            else ""
        )
        for s in r.get("steps", [])
    )
    events = "".join(
        f"<tr><td>{escape(str(e['seq']))}</td><td>{escape(e['time'])}</td><td>{escape(e['type'])}</td>"
        f"<td class=\"f\">{escape(_clip(e['text']))}</td></tr>"
        for e in r.get("events", [])
    )
    books = ""
    for inst, pts in sorted(r.get("books", {}).items()):
        if pts:
            books += f"<h4>{escape(inst)}: book over time</h4>{_chart(pts)}{_book_table(pts)}"
    kept = f'<p class="small">Log kept at <code>{escape(r["log"])}</code></p>' if r.get("log") else ""
    zone = f" (times in {escape(r['zone'])})" if r.get("zone") else ""
    return (
        f'<details{" open" if r["status"] == "failed" else ""}><summary><b class="{st}">{st}</b> '
        f'{escape(r["scenario"])} <span class="small">{float(r["seconds"]):.3f} s · '
        f"{escape(r.get('location', ''))} · "
        f"{escape(r.get('runner', ''))}</span> {tags}</summary>{kept}<table>{steps}</table>"
        f"<details><summary>Timeline: {len(r.get('events', []))} events{zone}</summary>"
        "<table><tr><th>seq</th>"
        f"<th>time</th><th>event</th><th>fields</th></tr>{events}</table></details>"
        f"<details><summary>Books</summary>{books or '<p>no book changes</p>'}</details></details>"
    )


def render(results: Iterable[dict[str, Any]], title: str = "Chronex scenario report") -> str:
    res = list(results)
    rows = "".join(
        f"<tr><td>{escape(r['feature'])}</td><td class=passed>{r['passed']}</td>"
        f"<td class=failed>{r['failed']}</td>"
        f"<td>{r['other']}</td><td>{r['seconds']:.2f}</td></tr>"
        for r in summary(res)
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        "<table><tr><th>feature</th><th>passed</th><th>failed</th><th>other</th>"
        f"<th>seconds</th></tr>{rows}</table>",
    ]
    feature = None
    for r in res:
        if r["feature"] != feature:
            feature = r["feature"]
            body.append(f"<h2>{escape(feature)}</h2>")
        body.append(_scenario(r))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{CSS}</style>"
        f"</head><body>{''.join(body)}</body></html>"
    )


def write_report(results_dir: Path, out: Path | None = None) -> Path:
    """Build ``report.html`` (or ``out``) from the scenario results under ``results_dir``."""
    target = out or results_dir / "report.html"
    target.write_text(render(load(results_dir)), encoding="utf-8")
    return target
