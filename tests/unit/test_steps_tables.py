"""Table diffs: aligned, every differing cell marked, missing and extra rows shown."""

from __future__ import annotations

from steps.tables import MARK, Table, diff, same


def test_equal_tables_have_no_diff() -> None:
    """Numbers compare as numbers, words without case."""
    rows = [{"price": "2500.0", "side": "BUY"}]
    assert diff("t", ["price", "side"], [{"price": "2500", "side": "buy"}], rows) is None


def test_a_differing_cell_is_marked_and_aligned() -> None:
    """Only the differing cell carries the mark; columns line up across expected and actual."""
    out = diff("Book", ["qty", "price"], [{"qty": "300", "price": "2500"}], [{"qty": "200", "price": "2500"}])
    assert out is not None
    lines = out.splitlines()
    assert "1 cell differs" in lines[0]
    assert f"200{MARK}" in lines[3]
    assert lines[2].index("2500") == lines[3].index("2500")


def test_missing_and_extra_rows_are_shown() -> None:
    """A row the system lacks, and one the scenario did not expect, both appear."""
    out = diff("t", ["qty"], [{"qty": "1"}, {"qty": "2"}], [{"qty": "1"}])
    assert out is not None and "(missing)" in out and "expected 2 rows, got 1" in out


def test_star_matches_anything() -> None:
    """'*' in an expected cell matches any value."""
    assert same("*", "whatever")


def test_headers_are_normalised() -> None:
    """Header cells are trimmed and lower-cased."""
    t = Table.from_rows([[" Bid Qty ", "Bid"], ["100", "2500"]])
    assert t.headers == ("bid qty", "bid")
    assert t.dicts() == [{"bid qty": "100", "bid": "2500"}]
