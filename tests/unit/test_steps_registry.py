"""The step registry: one definition per step, examples that match, a catalogue in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps import catalogue
from steps.registry import compile_pattern, find, load

ROOT = Path(__file__).resolve().parents[2]


def _first_line(example: str) -> tuple[str, str]:
    line = example.splitlines()[0]
    keyword, _, text = line.partition(" ")
    return keyword.lower(), text


@pytest.mark.parametrize("sd", load(), ids=lambda s: s.pattern)
def test_each_example_matches_exactly_its_own_step(sd: object) -> None:
    """Every step's example matches that step and no other (no ambiguity under either runner)."""
    keyword, text = _first_line(sd.example)  # type: ignore[attr-defined]
    hits = find(keyword, text)
    assert [h[0] for h in hits] == [sd], f"{text!r} matches {[h[0].pattern for h in hits]}"


def test_every_step_is_documented() -> None:
    """Each step has a docstring and an example for the catalogue."""
    missing = [s.pattern for s in load() if not s.doc or not s.example]
    assert not missing


def test_unknown_field_type_is_refused() -> None:
    """A pattern with an unknown field type fails when it is defined, naming the type."""
    with pytest.raises(ValueError, match="Colour"):
        compile_pattern("the {c:Colour} book")


def test_docs_steps_md_agrees_with_the_code() -> None:
    """docs/steps.md is exactly what `chronex steps --markdown` prints (regenerate with `make docs`)."""
    assert (ROOT / "docs" / "steps.md").read_text(encoding="utf-8") == catalogue.markdown()


def test_grep_filters_the_catalogue() -> None:
    """`--grep book` lists the book steps and leaves out the clock ones."""
    text = catalogue.text("book")
    assert "the {ref:Ref} book is:" in text
    assert "the date is" not in text
