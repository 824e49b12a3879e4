"""Feature files both runners would read differently are refused before either starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.featurecheck import check

ROOT = Path(__file__).resolve().parents[2]
STEP = "    Given the instrument XTKS:7203\n"


def _file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "x.feature"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # pytest-bdd keys scenarios by name: the first of these would vanish under --runner pytest.
        (
            f"Feature: F\n  Scenario: S\n{STEP}  Scenario: S\n{STEP}",
            "x.feature:4: a second scenario named 'S'",
        ),
        (f"Feature: F\n  Rule: R\n    Scenario: S\n{STEP}  Rule: Q\n    Scenario: S\n{STEP}", ":6: a second"),
        (
            "Feature: F\n  Scenario: S\n    When these:\n      | a | b |\n      | 1 |\n",
            ":5: not valid Gherkin",
        ),
        (f"Feature: F\n  Scenaro: S\n{STEP}", ":1: no Scenario in it"),
        ("Scenario: S\n", "not valid Gherkin"),
    ],
)
def test_a_file_the_runners_would_read_apart_is_named_with_its_line(
    tmp_path: Path, text: str, says: str
) -> None:
    [problem] = check([_file(tmp_path, text)])
    assert says in problem


def test_outlines_and_distinct_names_are_fine(tmp_path: Path) -> None:
    outline = (
        "  Scenario Outline: O <n>\n    Given the instrument XTKS:7203\n"
        "    Examples:\n      | n |\n      | 1 |\n      | 2 |\n"
    )
    text = f"Feature: F\n  Scenario: A\n{STEP}  Scenario: B\n{STEP}{outline}"
    assert check([_file(tmp_path, text)]) == []


def test_the_shipped_features_pass() -> None:
    assert check([ROOT / "features"]) == []
