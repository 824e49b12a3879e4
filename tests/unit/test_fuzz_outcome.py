"""What `chronex fuzz` writes for a found flow: the reference's outcome as Then steps, within the
10-step limit of a scenario (the flows themselves run against a target: tests/e2e)."""

from __future__ import annotations

import steps.library  # noqa: F401  (registers the step definitions)
from steps.fuzz import MAX_FLOW, MAX_STEPS, gherkin, reference_outcome

INST = "XTKS:7203"


def _step_lines(text: str) -> list[str]:
    return [
        ln for ln in text.splitlines() if ln.strip().split(" ")[0] in ("Given", "When", "Then", "And", "But")
    ]


def test_an_order_that_left_no_trade_and_no_book_entry_is_stated_by_its_status() -> None:
    """An IOC that finds nothing and an order at a price off the tick show in neither the trades nor
    the book: the outcome names how each ended, so the scenario fails on a venue that differs there."""
    flow = [
        f"alice buys 100 {INST} at 2999.5 IOC as o1",
        f"bob sells 100 {INST} at 2500.3 as o2",
        f"bob sells 100 {INST} at 2501 as o3",
    ]
    out = reference_outcome(INST, flow)
    assert out[0] == "Then no trade happens"
    assert "And order o1 is cancelled" in out and "And order o2 is rejected" in out
    assert not any("order o3" in ln for ln in out)  # it rests: the book says so
    assert any(ln.startswith(f"And the {INST} book is:") for ln in out)


def test_a_written_scenario_never_exceeds_ten_steps() -> None:
    """A flow of the longest length with every order refused: the status lines stop at the limit."""
    flow = [f"alice buys 100 {INST} at 2500.3 as o{n}" for n in range(1, MAX_FLOW + 1)]
    out = reference_outcome(INST, flow)
    text = gherkin(INST, flow, out, seed=0, target="t", error="The target and the oracle differ")
    assert len(_step_lines(text)) == MAX_STEPS
    short = flow[:2]
    text = gherkin(INST, short, reference_outcome(INST, short), seed=0, target="t", error="")
    assert _step_lines(text)[-2:] == ["    And order o1 is rejected", "    And order o2 is rejected"]
