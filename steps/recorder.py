"""What a scenario did, for the HTML report: its steps with timings and outcome, its events as a
timeline and its books over time. Both adapters feed one ``Recorder`` per scenario and, when a
report directory is set (``CHRONEX_REPORT_DIR``), write it as JSON under ``<dir>/scenarios/``;
``reports.html`` turns those files into one page."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from steps import describe
from steps import values as V
from steps.context import Scenario

MAX_EVENTS = 400
MAX_BOOK_POINTS = 60
BOOK_DEPTH = 5


# Step and scenario outcomes that count as a failure in every summary, whatever the runner's word.
FAILING = frozenset({"failed", "undefined", "error", "hook_error"})


@dataclass
class StepRecord:
    keyword: str
    text: str
    status: str = "skipped"
    seconds: float = 0.0
    error: str = ""


@dataclass
class Recorder:
    feature: str
    scenario: str
    tags: list[str]
    runner: str
    location: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    status: str = "passed"
    seconds: float = 0.0
    _t0: float = field(default_factory=time.perf_counter)
    _ts: float = 0.0

    def step_started(self, keyword: str, text: str) -> None:
        self.steps.append(StepRecord(keyword.strip().capitalize(), text))
        self._ts = time.perf_counter()

    def step_ended(self, status: str, error: str = "") -> None:
        if not self.steps:
            return
        s = self.steps[-1]
        s.status, s.seconds, s.error = status, round(time.perf_counter() - self._ts, 6), error
        if status in FAILING:
            self.status = "failed"

    def finish(self, ctx: Scenario | None, status: str | None = None) -> dict[str, Any]:
        self.seconds = round(time.perf_counter() - self._t0, 6)
        if status is not None:
            # A step no definition matches fails its scenario (behave calls it "undefined").
            self.status = "failed" if status in FAILING else status
        data: dict[str, Any] = {
            "feature": self.feature,
            "scenario": self.scenario,
            "tags": self.tags,
            "runner": self.runner,
            "location": self.location,
            "status": self.status,
            "seconds": self.seconds,
            "steps": [asdict(s) for s in self.steps],
            "events": [],
            "books": {},
            "log": None,
            "zone": "",
        }
        if ctx is not None and ctx.driver is not None:
            try:
                data.update(_system_view(ctx))
            except Exception as e:  # the report must not fail the run; say what went wrong instead
                data["events"] = [
                    {"seq": 0, "time": "", "type": "ReportError", "text": f"{type(e).__name__}: {e}"}
                ]
        return data

    def write(self, data: dict[str, Any]) -> Path | None:
        root = os.environ.get("CHRONEX_REPORT_DIR")
        if not root:
            return None
        out = Path(root) / "scenarios"
        out.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.feature}-{self.scenario}".lower()).strip("-")[:90]
        path = out / f"{slug}-{os.getpid()}-{time.perf_counter_ns()}.json"
        path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        return path


def _system_view(ctx: Scenario) -> dict[str, Any]:
    drv = ctx.system()
    tz = ctx.zone()
    events = [e for e in drv.events() if e.record.kind != "command"]
    timeline = [
        {
            "seq": e.seq,
            "time": V.local(e.valid_time, tz),
            "type": e.type,
            "text": describe.line(e, ctx.instruments, tz, ctx.name_of).split(e.type, 1)[-1].strip(),
        }
        for e in events[-MAX_EVENTS:]
    ]
    books: dict[str, list[dict[str, Any]]] = {}
    for i, inst in ctx.instruments.items():
        pts = drv.book_history(i)[-MAX_BOOK_POINTS:]
        books[i] = [
            {
                "seq": p.seq,
                "time": V.local(p.time, tz),
                "phase": str(p.book.phase),
                "bids": [
                    [V.fmt_price(inst, lv.price), V.fmt_qty(inst, lv.qty)] for lv in p.book.bids[:BOOK_DEPTH]
                ],
                "asks": [
                    [V.fmt_price(inst, lv.price), V.fmt_qty(inst, lv.qty)] for lv in p.book.asks[:BOOK_DEPTH]
                ],
                "last": V.fmt_price(inst, p.book.last_price),
            }
            for p in pts
        ]
    return {"events": timeline, "books": books, "log": ctx.kept, "zone": str(tz)}
