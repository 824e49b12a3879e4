"""Gherkin tables and the diff a failing ``Then`` prints: expected and actual interleaved row by row,
aligned, with every differing cell marked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from steps.errors import StepInputError
from steps.values import amount

MARK = " ✗"


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def from_rows(cls, raw: Sequence[Sequence[str]]) -> Table:
        if not raw:
            raise StepInputError("the step needs a table with a header row")
        headers = tuple(h.strip().lower() for h in raw[0])
        rows = tuple(tuple(c.strip() for c in r) for r in raw[1:])
        return cls(headers, rows)

    def dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.headers, r, strict=True)) for r in self.rows]

    def has(self, *names: str) -> bool:
        return all(n in self.headers for n in names)

    def require(self, allowed: Sequence[str], what: str) -> None:
        """Reject columns this step does not know, naming them and the ones it does."""
        unknown = [h for h in self.headers if h not in allowed]
        if unknown:
            raise StepInputError(
                f"unknown column {unknown[0]!r} in the {what} table (columns: {', '.join(allowed)})"
            )


def same(expected: str, actual: str) -> bool:
    """Cells are equal as numbers when both are numbers (2500 == 2500.0 == 2,500, 1e6 ==
    1,000,000, ¥1,000 == 1000), else as words, ignoring case ('buy' == 'BUY'); '*' in the expected
    cell matches anything."""
    if expected == "*":
        return True
    e, a = expected.strip(), actual.strip()
    if e == a:
        return True
    de, da = amount(e), amount(a)
    if de is not None and da is not None:
        return de == da
    return e.lower() == a.lower()


def diff(
    title: str,
    columns: Sequence[str],
    expected: Sequence[dict[str, str]],
    actual: Sequence[dict[str, str]],
    equal: Callable[[str, str], bool] = same,
) -> str | None:
    """None when the tables agree on ``columns``; otherwise the aligned, marked comparison."""
    n = max(len(expected), len(actual))
    rows: list[tuple[str, list[str], bool]] = []
    bad_cells = 0
    bad_rows = 0
    for i in range(n):
        e = expected[i] if i < len(expected) else None
        a = actual[i] if i < len(actual) else None
        if e is None or a is None:
            bad_rows += 1
            if e is not None:
                rows.append(("exp", [e.get(c, "") for c in columns], True))
                rows.append(("got", ["(missing)"] + [""] * (len(columns) - 1), True))
            if a is not None:
                rows.append(("exp", ["(none)"] + [""] * (len(columns) - 1), True))
                rows.append(("got", [a.get(c, "") for c in columns], True))
            continue
        got: list[str] = []
        row_bad = False
        for c in columns:
            ev, av = e.get(c, ""), a.get(c, "")
            if equal(ev, av):
                got.append(av)
            else:
                got.append((av or "-") + MARK)
                bad_cells += 1
                row_bad = True
        rows.append(("exp", [e.get(c, "") for c in columns], row_bad))
        rows.append(("got", got, row_bad))
    if not bad_cells and not bad_rows:
        return None
    widths = [len(c) for c in columns]
    for _, cells, _ in rows:
        widths = [max(w, len(x)) for w, x in zip(widths, cells, strict=True)]

    def line(tag: str, cells: Sequence[str], bad: bool) -> str:
        body = " | ".join(x.ljust(w) for x, w in zip(cells, widths, strict=True))
        return f"{'!' if bad else ' '} {tag:3} | {body} |"

    summary = []
    if bad_cells:
        summary.append(
            f"{bad_cells} cell{'s' if bad_cells > 1 else ''} differ{'s' if bad_cells == 1 else ''}"
        )
    if len(expected) != len(actual):
        summary.append(f"expected {len(expected)} rows, got {len(actual)}")
    out = [f"{title}: {'; '.join(summary)} (marked{MARK})", line("", columns, False)]
    for i, (tag, cells, bad) in enumerate(rows):
        out.append(line(tag, cells, bad))
        if tag == "got" and i + 1 < len(rows):
            out.append("")
    return "\n".join(out)
