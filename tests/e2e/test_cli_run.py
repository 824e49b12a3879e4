"""`chronex run` and `chronex steps` from the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import cli

ROOT = Path(__file__).resolve().parents[2]


def chronex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, env=env, timeout=300)


def test_run_writes_reports_and_a_summary(tmp_path: Path) -> None:
    """A green run exits 0 and leaves JUnit, Allure results and the HTML report."""
    r = chronex("run", "features/matching/market_orders.feature", "--report", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Total" in r.stdout and "Market orders" in r.stdout
    assert (tmp_path / "report.html").is_file()
    assert any((tmp_path / "junit").glob("*.xml"))
    assert any((tmp_path / "allure-results").iterdir())
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "A market buy sweeps the asks" in html and "book over time" in html


def test_the_demo_failure_shows_the_diff_the_events_and_the_kept_log(tmp_path: Path) -> None:
    """The tagged demo fails (exit 1), printing the marked table diff, recent events and the kept log."""
    r = chronex("run", "features/demo", "--tags", "@demo_failure", "--report", str(tmp_path))
    assert r.returncode == 1
    assert "! got | 100     | 2500 | 2501 | 200 ✗" in r.stdout
    assert "Last 6 events of XTKS:7203" in r.stdout
    assert "Scenario log kept at" in r.stdout
    assert "has a bad argument: price '25x0' is not a number" in r.stdout
    assert any((tmp_path / "failed").glob("*.db"))


def test_the_demo_failure_is_out_of_the_default_run(tmp_path: Path) -> None:
    """Without the tag the demo scenarios do not run, so the run is green."""
    r = chronex("run", "features/demo", "features/matching/market_orders.feature", "--report", str(tmp_path))
    assert r.returncode == 0, r.stdout


def test_run_under_pytest_bdd(tmp_path: Path) -> None:
    """The same features run under pytest-bdd and write a JUnit file."""
    r = chronex("run", "features/matching/market_orders.feature", "--runner", "pytest", "--jobs", "1",
                "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "junit.xml").is_file()
    assert "Total" in r.stdout


@pytest.mark.parametrize("runner", ["behave", "pytest"])
def test_scenarios_a_driver_skips_are_counted_and_listed_by_both_runners(runner: str, tmp_path: Path) -> None:
    """The @wire scenarios, skipped in process, count in the summary and are listed with their
    reason under either runner (pytest-bdd skips them before its scenario hooks run)."""
    r = chronex("run", "features/faults", "--runner", runner, "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    total = next(ln for ln in r.stdout.splitlines() if "Total" in ln).split("│")
    assert [c.strip() for c in total[2:5]] == ["0", "0", "9"], r.stdout
    assert "Skipped without the FIX link: 9 of 9 scenarios, @wire" in r.stdout


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    """An unknown runner, a missing path, an unknown driver or two scenarios of one name (pytest-bdd
    kept one of them, silently): exit 2 and one line naming it."""
    (tmp_path / "dup").mkdir()
    step = "    Given the instrument XTKS:7203\n"
    (tmp_path / "dup" / "d.feature").write_text(f"Feature: F\n  Scenario: S\n{step}  Scenario: S\n{step}")
    for args, word in [
        (["--runner", "cucumber"], "'cucumber'"),
        (["no/such/dir"], "'no/such/dir'"),
        (["--driver", "telex"], "'telex'"),
        (["features/matching", "--tags", "@a and and"], "'@a and and' is not one"),
        (["features/matching", "--runner", "pytest", "--tags", "@a and and"], "'@a and and' is not one"),
        ([str(tmp_path / "dup"), "--runner", "pytest"], "a second scenario named 'S'"),
        ([str(tmp_path / "dup")], "a second scenario named 'S'"),
    ]:
        r = chronex("run", *args, "--report", str(tmp_path))
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert word in r.stderr and "Traceback" not in r.stderr


def test_steps_catalogue() -> None:
    """`chronex steps --grep` prints matching steps with parameters and examples; no match exits 1."""
    r = chronex("steps", "--grep", "kill switch")
    assert r.returncode == 0
    assert "the operator engages the kill switch of {account:Name}" in r.stdout
    assert "e.g. When the operator engages the kill switch of alice" in r.stdout
    assert chronex("steps", "--grep", "no-such-step").returncode == 1


def test_features_run_over_fix_and_inprocess_scenarios_are_skipped(tmp_path: Path) -> None:
    """`--driver fix` runs scenarios against `chronex serve` over FIX; @inprocess ones are skipped
    with their reason, not failed."""
    r = chronex(
        "run", "features/matching/cancel_replace.feature", "features/risk/margin.feature",
        "features/sim/background.feature", "--driver", "fix", "--report", str(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "needs the system in this process (tagged @inprocess)" in r.stdout
    assert "Positions, P&L and margin" in r.stdout


def test_features_run_over_rest_and_inprocess_scenarios_are_skipped(tmp_path: Path) -> None:
    """`--driver rest` sends orders through the REST gateway of `chronex serve` (an instrument id
    with a slash included); @inprocess scenarios are skipped with their reason, as over FIX."""
    r = chronex(
        "run", "features/matching/cancel_replace.feature", "features/matching/other_venues.feature",
        "features/sim/background.feature", "--driver", "rest", "--report", str(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "needs the system in this process (tagged @inprocess)" in r.stdout
    assert "Cancels and replaces" in r.stdout


def test_target_needs_the_fix_driver(tmp_path: Path) -> None:
    """--target without --driver fix is bad input, one line, exit 2."""
    r = chronex("run", "features/matching", "--target", "127.0.0.1:1", "--report", str(tmp_path))
    assert r.returncode == 2
    assert "--target needs --driver fix" in r.stderr


def test_fix_driver_runs_on_a_served_target_and_refuses_one_it_cannot_use(tmp_path: Path) -> None:
    """`run --driver fix --target HOST:ADMIN_PORT` runs scenarios on a `chronex serve` started for
    tests (--allow-reset, the driver's session); a server without --allow-reset, or nobody at the
    port, is one line naming what to do, exit 2, before any scenario runs."""
    from steps.drivers.fix import SESSIONS_TOML
    from system.server.process import ServeProcess

    sessions = tmp_path / "sessions.toml"
    sessions.write_text(SESSIONS_TOML, encoding="utf-8")
    base = ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--fix-port", "0",
            "--sessions", str(sessions)]  # fmt: skip
    feature = "features/matching/limit_orders.feature"
    ok = ServeProcess([*base, "--allow-reset"])
    try:
        r = chronex("run", feature, "--driver", "fix", "--target", f"127.0.0.1:{ok.admin_port}",
                    "--report", str(tmp_path / "ok"))  # fmt: skip
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert "scenarios passed" in r.stdout
    finally:
        assert ok.terminate() == 0
    plain = ServeProcess(base)
    try:
        r = chronex("run", feature, "--driver", "fix", "--target", f"127.0.0.1:{plain.admin_port}",
                    "--report", str(tmp_path / "plain"))  # fmt: skip
    finally:
        assert plain.terminate() == 0
    assert r.returncode == 2, r.stdout[-3000:] + r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "--allow-reset" in r.stderr
    r = chronex("run", feature, "--driver", "fix", "--target", "127.0.0.1:1", "--report", str(tmp_path / "x"))
    assert r.returncode == 2 and "no chronex serve answers there" in r.stderr


@pytest.mark.parametrize("driver", ["fix", "rest"])
def test_every_feature_is_green_over_the_wire(driver: str, tmp_path: Path) -> None:
    """The whole of features/ over each wire driver: every scenario passes or is skipped by a tag
    that names why (a new feature that cannot run over the wire must say so, not fail there)."""
    r = chronex("run", "features", "--driver", driver, "--report", str(tmp_path))
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr
    summary = [ln for ln in r.stdout.splitlines() if "scenarios passed" in ln]
    assert summary and ", 0 failed" in summary[-1], summary
    passed = int(summary[-1].split()[0])
    assert passed >= 150, summary  # the skips stay the exception
    assert "@inprocess features/hedging/round_trip.feature" in r.stdout  # listed with its reason
    if driver == "rest":
        assert "@wire features/faults/fix_link.feature" in r.stdout
    else:
        assert "@wire features/faults/fix_link.feature" not in r.stdout  # they ran, over FIX


@pytest.mark.parametrize("runner", ["behave", "pytest"])
def test_a_step_nothing_matches_fails_its_scenario_in_every_summary(runner: str, tmp_path: Path) -> None:
    """Under pytest the summary and report said 'passed' (junit said failed) and the run ended
    '0 of 1 scenarios failed' with exit 1; behave counted it as 'other' without the step."""
    import json

    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "u.feature").write_text(
        "Feature: Undefined\n  Scenario: U1\n    Given the instrument XTKS:7203\n"
        "    When alice does something undefined\n    Then the best bid of XTKS:7203 is 2500\n"
    )
    r = chronex("run", str(tmp_path / "u"), "--runner", runner, "--report", str(tmp_path / "out"))
    assert r.returncode == 1 and "1 of 1 scenarios failed" in r.stderr, r.stdout[-2000:] + r.stderr
    [result] = [json.loads(p.read_text()) for p in (tmp_path / "out" / "scenarios").glob("*.json")]
    assert result["status"] == "failed"
    steps = [(s["text"], s["status"]) for s in result["steps"]]
    assert ("alice does something undefined", "undefined") in steps
