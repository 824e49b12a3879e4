"""A fleet's plan, its outputs' atomic publication and its manifest: pure parts, no cluster."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronex.fleet import manifest as mf
from chronex.fleet.atomic import partial_path, publish, write_text
from chronex.fleet.days import DayResult
from chronex.fleet.plan import DayTask, PlanError, parse_seeds, sessions
from sim.clock import venue_calendar


def test_seed_ranges_lists_and_singles() -> None:
    """--seeds takes a range, a single seed or a comma list of both, without duplicates."""
    assert parse_seeds("1-5") == (1, 2, 3, 4, 5)
    assert parse_seeds("7") == (7,)
    assert parse_seeds("10-12, 1,3,11") == (1, 3, 10, 11, 12)


@pytest.mark.parametrize("text", ["5-1", "a", "1-", "", "1,,2", "-3", "0-20000"])
def test_bad_seed_lists_are_named(text: str) -> None:
    """A seed list that is not seeds or ranges is refused, quoting it."""
    with pytest.raises(PlanError, match="--seeds"):
        parse_seeds(text)


def test_sessions_are_the_calendars_trade_dates() -> None:
    """The plan's dates are the venue's sessions: weekends and the TSE new-year holidays drop out."""
    days = sessions(venue_calendar("XTKS"), date(2027, 1, 1), date(2027, 1, 10))
    assert days == [date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 6), date(2027, 1, 7), date(2027, 1, 8)]
    with pytest.raises(PlanError, match="before"):
        sessions(venue_calendar("XTKS"), date(2027, 1, 10), date(2027, 1, 1))


def _task(d: date, seed: int, **kw: object) -> DayTask:
    return DayTask("XTKS", "XTKS", d, seed, ("7203",), **kw)  # type: ignore[arg-type]


def test_each_date_gets_its_own_run_seed_unless_fixed() -> None:
    """One fleet seed runs different order flow on each date (derived seeds), and the same run
    seed every time it is planned; --fixed-seed runs the seed itself."""
    a, b = _task(date(2027, 1, 4), 1), _task(date(2027, 1, 5), 1)
    assert a.run_seed != b.run_seed
    assert a.run_seed == _task(date(2027, 1, 4), 1).run_seed
    assert a.run_seed != _task(date(2027, 1, 4), 2).run_seed
    assert 0 <= a.run_seed < 2**63
    assert _task(date(2027, 1, 4), 1, fixed_seed=True).run_seed == 1


def test_fingerprint_follows_what_shapes_the_log() -> None:
    """Resume compares fingerprints: any setting that changes the log changes it."""
    base = _task(date(2027, 1, 4), 1)
    assert base.fingerprint == _task(date(2027, 1, 4), 1, settings="other words").fingerprint
    for other in (
        _task(date(2027, 1, 4), 1, until_ns=1),
        _task(date(2027, 1, 4), 1, activity=2.0),
        _task(date(2027, 1, 4), 1, fixed_seed=True),
        DayTask("XTKS", "XTKS", date(2027, 1, 4), 1, ("6758",)),
    ):
        assert other.fingerprint != base.fingerprint
    assert base.log_name == "XTKS-2027-01-04-s1.db"


def test_publish_moves_a_whole_file_and_refuses_an_open_sqlite(tmp_path: Path) -> None:
    """A partial file is moved into place whole; one with a WAL beside it is not published."""
    tmp = partial_path(tmp_path, "x.db")
    assert tmp.parent.name == ".partial" and tmp.name.startswith("x.")
    tmp.write_bytes(b"complete")
    Path(f"{tmp}-wal").write_bytes(b"pending")
    with pytest.raises(RuntimeError, match="-wal"):
        publish(tmp, tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()
    Path(f"{tmp}-wal").unlink()
    publish(tmp, tmp_path / "x.db")
    assert (tmp_path / "x.db").read_bytes() == b"complete" and not tmp.exists()
    write_text(tmp_path / "x.db", "replaced")
    assert (tmp_path / "x.db").read_text() == "replaced"


def _result(d: str, seed: int) -> DayResult:
    head = f"{d}{seed}".ljust(64, "0")
    return DayResult(f"XTKS-{d}-s{seed}.db", "XTKS", d, seed, seed * 7, 100 + seed, head, "fp", 1.0)


@given(st.randoms(use_true_random=False))
def test_manifest_is_the_same_in_any_completion_order(rnd: random.Random) -> None:
    """Days finishing in any order give the same manifest and fleet hash."""
    days = [_result(d, s) for d in ("2027-01-04", "2027-01-05", "2027-01-06") for s in (1, 2, 10)]
    ref = mf.build("XTKS", "2027-01-04", "2027-01-06", (1, 2, 10), "", days)
    shuffled = list(days)
    rnd.shuffle(shuffled)
    assert mf.build("XTKS", "2027-01-04", "2027-01-06", (1, 2, 10), "", shuffled) == ref
    assert [e.seed for e in ref.logs[:3]] == [1, 2, 10]  # numeric seed order, not text order
