"""Scenario contexts: isolated systems and logs, clear errors for bad arguments, logs kept on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.context import Scenario
from steps.drivers import check_driver
from steps.errors import StepFailed, StepInputError
from steps.registry import find, run_step


def _run(ctx: Scenario, keyword: str, text: str, table: list[list[str]] | None = None) -> None:
    [(sd, args)] = find(keyword, text)
    run_step(sd, ctx, keyword, text, args, table)


def test_each_scenario_has_its_own_log(tmp_path: Path) -> None:
    """Two scenarios never share a system or a log file."""
    a, b = Scenario(report_dir=tmp_path), Scenario(report_dir=tmp_path)
    try:
        for ctx in (a, b):
            _run(ctx, "given", "the instrument XTKS:7203")
            _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
        assert a.system().log_path() != b.system().log_path()
        _run(a, "when", "bob sells 100 XTKS:7203 at 2500")
        assert a.system().book("XTKS:7203").bids == ()
        assert b.system().book("XTKS:7203").bids[0].qty == 100
    finally:
        a.close()
        b.close()


def test_a_bad_argument_names_the_step_and_the_value(tmp_path: Path) -> None:
    """A malformed price fails the step with one message naming the step and the value."""
    ctx = Scenario(report_dir=tmp_path)
    try:
        with pytest.raises(StepFailed) as e:
            _run(ctx, "when", "alice buys 100 XTKS:7203 at 25x0")
        assert 'Step "When alice buys 100 XTKS:7203 at 25x0" has a bad argument' in str(e.value)
        assert "'25x0' is not a number" in str(e.value)
    finally:
        ctx.close()


def test_an_unknown_order_type_in_a_table_is_named(tmp_path: Path) -> None:
    """An order table with an unknown type fails naming the type."""
    ctx = Scenario(report_dir=tmp_path)
    try:
        _run(ctx, "given", "the instrument XTKS:7203")
        table = [["account", "side", "qty", "price", "type"], ["alice", "buy", "100", "2500", "PEGGED"]]
        with pytest.raises(StepFailed, match="order type 'PEGGED' is unknown"):
            _run(ctx, "when", "these orders are submitted:", table)
    finally:
        ctx.close()


def test_a_failed_expectation_keeps_the_log(tmp_path: Path) -> None:
    """A failing Then copies the scenario's log under reports/failed and says where."""
    ctx = Scenario(name="kept", feature="f", report_dir=tmp_path)
    try:
        _run(ctx, "given", "the instrument XTKS:7203")
        _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
        with pytest.raises(StepFailed) as e:
            _run(ctx, "then", "the best bid of XTKS:7203 is 2400")
        assert ctx.kept is not None and Path(ctx.kept).is_file()
        assert f"Scenario log kept at {ctx.kept}" in str(e.value)
        assert "OrderAccepted" in str(e.value)  # the last events of the instrument
    finally:
        ctx.close()


def test_unknown_driver_is_a_clear_error() -> None:
    """An unknown driver name lists the available ones; a planned one says it is not there yet."""
    with pytest.raises(StepInputError, match="unknown driver 'carrier-pigeon'"):
        check_driver("carrier-pigeon")
    with pytest.raises(StepInputError, match="not available yet"):
        check_driver("rest")
