"""The fleet manifest (``fleet.json``): every finished log with its head hash, in (date, seed)
order, so the same fleet gives the same file whatever the worker count or completion order; and
the summary table (pandas) of trades, volume, volatility and spread per day."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec

from chronex.fleet.atomic import write_text
from chronex.fleet.days import DayResult

MANIFEST = "fleet.json"
SUMMARY = "summary.csv"


class LogEntry(msgspec.Struct, frozen=True):
    log: str
    date: str
    seed: int
    run_seed: int
    events: int
    head_hash: str


class Manifest(msgspec.Struct, frozen=True):
    venue: str
    first: str
    last: str
    seeds: tuple[int, ...]
    settings: str  # the options that shape the logs, as typed
    fleet_hash: str  # sha256 over the logs' names and head hashes, in order
    logs: tuple[LogEntry, ...]


def fleet_hash(entries: list[LogEntry]) -> str:
    h = hashlib.sha256()
    for e in entries:
        h.update(f"{e.log} {e.head_hash}\n".encode())
    return h.hexdigest()


def build(
    venue: str, first: str, last: str, seeds: tuple[int, ...], settings: str, days: list[DayResult]
) -> Manifest:
    entries = sorted(
        (LogEntry(d.log, d.date, d.seed, d.run_seed, d.events, d.head_hash) for d in days),
        key=lambda e: (e.date, e.seed),
    )
    return Manifest(venue, first, last, seeds, settings, fleet_hash(entries), tuple(entries))


def write(out_dir: Path, manifest: Manifest) -> Path:
    path = out_dir / MANIFEST
    write_text(path, msgspec.json.format(msgspec.json.encode(manifest).decode(), indent=2) + "\n")
    return path


def read(out_dir: Path) -> Manifest | None:
    """The folder's manifest, or None when it has none (a folder of logs from elsewhere)."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ValueError(f"{path}: not a fleet manifest ({e})") from None


def frames(days: list[DayResult]) -> tuple[Any, Any]:
    """(per instrument and day, per day) DataFrames, sorted by date and seed.

    Per day: trades and volume summed over instruments, volatility and spread their means.
    """
    import pandas as pd

    rows = [
        {
            "date": d.date,
            "seed": d.seed,
            "instrument": s.instrument,
            "trades": s.trades,
            "volume": float(s.volume),
            "volatility_pct": s.volatility_pct,
            "spread_ticks": s.spread_ticks,
        }
        for d in days
        for s in d.instruments
    ]
    cols = ["date", "seed", "instrument", "trades", "volume", "volatility_pct", "spread_ticks"]
    per_inst = pd.DataFrame(rows, columns=cols).sort_values(["date", "seed", "instrument"], kind="stable")
    per_day = (
        per_inst.groupby(["date", "seed"], sort=True)
        .agg(
            instruments=("instrument", "count"),
            trades=("trades", "sum"),
            volume=("volume", "sum"),
            volatility_pct=("volatility_pct", "mean"),
            spread_ticks=("spread_ticks", "mean"),
        )
        .reset_index()
    )
    heads = {(d.date, d.seed): d.head_hash[:16] for d in days}
    per_day["head"] = [heads[(r.date, r.seed)] for r in per_day.itertuples()]
    return per_inst.reset_index(drop=True), per_day


def write_summary(out_dir: Path, per_instrument: Any) -> Path:
    path = out_dir / SUMMARY
    write_text(path, per_instrument.to_csv(index=False))
    return path
