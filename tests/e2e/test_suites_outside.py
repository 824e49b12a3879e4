"""Suites that live outside the repo: `chronex run DIR` from any folder, with any tags, under both
runners; `chronex init DIR`; and the logs kept for failed scenarios (issue 17)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from system.clock import FixedClock
from system.eventlog import open_log
from tests import cli

ROOT = Path(__file__).resolve().parents[2]
RUNNERS = ["behave", "pytest"]


def chronex(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, cwd=cwd, drop=["PYTHONPATH"])


def _entries(db: Path) -> list[str]:
    store = open_log(db, FixedClock(0), create=False)
    try:
        return [e.type for e in store.read(1)]
    finally:
        store.close()


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_kept_failure_log_holds_the_scenario(runner: str, tmp_path: Path) -> None:
    """The log kept for a failed scenario has its orders and trades, not an empty file."""
    report = tmp_path / "out"
    r = chronex("run", str(ROOT / "features" / "demo"), "--tags", "@demo_failure", "--runner", runner,
                "--jobs", "1", "--report", str(report), cwd=tmp_path)  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    kept = sorted((report / "failed").glob("*.db"))
    assert kept, r.stdout
    book = next(p for p in kept if "book-is-not" in p.name)
    types = _entries(book)
    assert types.count("OrderAccepted") == 4 and "TradeExecuted" in types
    assert not list((report / "failed").glob("*-wal"))


def _copy_suite(dest: Path) -> Path:
    """The repo's features/ without its glue files, one feature carrying a team's own tag."""
    suite = dest / "suite" / "features"
    shutil.copytree(ROOT / "features", suite, ignore=shutil.ignore_patterns("steps", "environment.py"))
    f = suite / "matching" / "market_orders.feature"
    f.write_text("@team-x @jira:ABC-12.3\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    return suite


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_copied_suite_runs_from_another_folder_with_its_own_tags(runner: str, tmp_path: Path) -> None:
    """features/ copied out of the repo, with no glue files and a custom tag, runs from elsewhere."""
    suite = _copy_suite(tmp_path)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    r = chronex("run", str(suite), "--tags", "@team-x and @jira:ABC-12.3", "--runner", runner, "--jobs", "1",
                "--report", str(tmp_path / "out"), cwd=elsewhere)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Market orders" in r.stdout and "Traceback" not in r.stdout + r.stderr
    assert "Limit orders" not in r.stdout  # the tag filtered the rest out


def test_chronex_init_writes_a_suite_that_runs_under_both_runners_and_plain_tools(tmp_path: Path) -> None:
    """`chronex init DIR` gives a starter suite that chronex run, behave and pytest all run green."""
    team = tmp_path / "team-repo"
    r = chronex("init", str(team), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (team / "features" / "environment.py").is_file()
    assert (team / "features" / "steps" / "chronex_steps.py").is_file()
    assert (team / "conftest.py").is_file() and (team / "README.md").is_file()
    assert list((team / "features").glob("*.feature"))
    for runner in RUNNERS:
        report = str(tmp_path / runner)
        out = chronex("run", "features", "--runner", runner, "--jobs", "1", "--report", report, cwd=team)
        assert out.returncode == 0, out.stdout + out.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONEX_")}
    behave = [sys.executable, "-m", "behave", "features", "--no-capture", "-f", "progress"]
    plain_behave = subprocess.run(behave, cwd=team, capture_output=True, text=True, env=env, timeout=600)
    assert plain_behave.returncode == 0, plain_behave.stdout + plain_behave.stderr
    plain_pytest = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                  cwd=team, capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert plain_pytest.returncode == 0, plain_pytest.stdout + plain_pytest.stderr
    assert " passed" in plain_pytest.stdout
    # The suite's README names the folder the runs write (it said reports/, they write out/).
    readme = (team / "README.md").read_text()
    assert "out/failed/" in readme and "reports/" not in readme


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    """A second init into the same folder changes nothing and exits 2 naming the file."""
    team = tmp_path / "t"
    assert chronex("init", str(team), cwd=tmp_path).returncode == 0
    again = chronex("init", str(team), cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_suites_own_behave_steps_and_hooks_run_beside_chronexs(tmp_path: Path) -> None:
    """A folder with its own environment.py and a step module of its own: both load, and its hook
    runs after Chronex's, which still gives each scenario its system."""
    features = tmp_path / "own" / "features"
    (features / "steps").mkdir(parents=True)
    (features / "environment.py").write_text(
        "def before_scenario(context, scenario):\n"
        "    assert context.chronex is not None  # chronex's hook ran first\n"
        "    context.team_marker = 'set by the team hook'\n",
        encoding="utf-8",
    )
    (features / "steps" / "team_steps.py").write_text(
        "from behave import then\n\n"
        "@then('the team hook ran')\n"
        "def team_hook_ran(context):\n"
        "    assert context.team_marker == 'set by the team hook'\n",
        encoding="utf-8",
    )
    (features / "own.feature").write_text(
        "Feature: Own glue\n"
        "  Scenario: Team steps beside Chronex steps\n"
        "    Given the instrument XTKS:7203\n"
        "    When alice buys 100 XTKS:7203 at 2500\n"
        "    Then the best bid of XTKS:7203 is 2500\n"
        "    And the team hook ran\n",
        encoding="utf-8",
    )
    r = chronex("run", str(features), "--report", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Own glue" in r.stdout
