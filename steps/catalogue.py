"""The step catalogue: every registered step with its parameters and an example, as text for the
terminal or as the Markdown of docs/steps.md. Both are generated from the registry alone."""

from __future__ import annotations

from steps.registry import TYPES, StepDef, load

AREAS = {
    "clock": "Clock and time travel",
    "calendar": "Venue calendars (asked directly, without running the clock)",
    "market": "Venues, instruments, phases and auctions",
    "orders": "Orders, cancels, replaces and their outcomes",
    "book": "The order book",
    "trades": "Trades and executions",
    "log": "The event log",
    "replay": "Replay",
    "audit": "Audit: as-of views, re-runs and what-if",
    "rebase": "Audit: the day's order flow rebased onto another date",
    "risk": "Accounts, limits, positions, margin and the kill switch",
    "sim": "Simulators in the background",
    "makers": "Market makers (the makers mock's quoting, through the scenario's driver)",
}


def keyword_of(sd: StepDef) -> str:
    return "Given/When" if sd.keyword == "step" else sd.keyword.capitalize()


def select(grep: str | None = None) -> list[StepDef]:
    steps = load()
    if not grep:
        return list(steps)
    g = grep.lower()
    return [s for s in steps if g in s.pattern.lower() or g in s.doc.lower() or g in s.example.lower()]


def _ordered(steps: list[StepDef]) -> list[tuple[str, list[StepDef]]]:
    by: dict[str, list[StepDef]] = {}
    for s in steps:
        by.setdefault(s.area, []).append(s)
    order = [a for a in AREAS if a in by] + sorted(a for a in by if a not in AREAS)
    return [(a, by[a]) for a in order]


def _params(sd: StepDef) -> list[str]:
    return [f"{name} ({kind}): {TYPES[kind].meaning}" for name, kind in sd.fields]


def text(grep: str | None = None) -> str:
    out: list[str] = []
    for area, steps in _ordered(select(grep)):
        out.append(f"== {AREAS.get(area, area)}")
        for sd in steps:
            out.append(f"{keyword_of(sd)} {sd.pattern}")
            if sd.doc:
                out.extend("    " + line for line in sd.doc.splitlines())
            for p in _params(sd):
                out.append(f"    - {p}")
            out.extend(
                ("    e.g. " if i == 0 else "         ") + line
                for i, line in enumerate(sd.example.splitlines())
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def markdown() -> str:
    steps = select(None)
    out = [
        "# Step catalogue",
        "",
        "Every Gherkin step Chronex understands, generated from the step registry by",
        "`chronex steps --markdown` (a test checks this file agrees with the code). Prices and",
        "quantities are decimals in the instrument's units; times are in the scenario's zone unless",
        "a zone is given. `Given/When` steps work after any keyword.",
        "",
        f"{len(steps)} steps.",
        "",
    ]
    for area, group in _ordered(steps):
        out += [f"## {AREAS.get(area, area)}", ""]
        for sd in group:
            out.append(f"### {keyword_of(sd)} `{sd.pattern}`")
            out.append("")
            if sd.doc:
                out += [" ".join(sd.doc.split()), ""]
            for p in _params(sd):
                out.append(f"- {p}")
            if sd.fields:
                out.append("")
            out += ["```gherkin", sd.example, "```", ""]
    return "\n".join(out).rstrip() + "\n"
