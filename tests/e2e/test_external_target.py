"""Scenarios against an external target (a served mock reached only over FIX) with Chronex's engine
as the oracle, the mock's deliberate rule differences, and `chronex fuzz` finding each of them."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from system.clock import FixedClock
from system.engine.deviations import RuleDifference
from system.eventlog import open_log
from system.oracle import FixReceived, FixSent, TargetIdentified
from system.server.process import ServeProcess
from tests import cli

ROOT = Path(__file__).resolve().parents[2]
MOCK_SESSIONS = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "QA"
accounts = ["*"]
sending_time_tolerance_s = 0
"""

# (difference, feature file, the step where it must be caught)
CAUGHT = [
    ("tick-off-by-one", "features/matching/limit_orders.feature", "When alice buys 100 XTKS:7203 at 999.9"),
    ("stp-cancel-oldest", "features/matching/self_trade.feature",
     "When alice buys 100 XTKS:7203 at 2500 stp CANCEL_NEWEST as inc"),
    ("replace-keeps-priority", "features/matching/cancel_replace.feature",
     "And carol sells 100 XTKS:7203 at 2499"),
    ("reprice-keeps-priority", "features/matching/cancel_replace.feature",
     "And dave sells 100 XTKS:7203 at 2499.5"),
]  # fmt: skip


def chronex(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, timeout=900)


def serve(tmp: Path, difference: str | None = None) -> ServeProcess:
    (tmp / "mock-sessions.toml").write_text(MOCK_SESSIONS, encoding="utf-8")
    args = [
        "--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--allow-reset", "--fix-port", "0",
        "--sessions", str(tmp / "mock-sessions.toml"), "--start", "2027-01-04T00:00Z",
    ]  # fmt: skip
    return ServeProcess([*args, "--rule-difference", difference] if difference else args)


def target_file(tmp: Path, mock: ServeProcess, name: str) -> Path:
    """The sessions file a user writes for their system; ``control`` lets the mock be reset."""
    f = tmp / f"{name}.toml"
    f.write_text(
        f"""[target]
external = true
name = "{name}"
port = {mock.fix_port}
control = "127.0.0.1:{mock.admin_port}"

[oracle]
clock_skew_ms = 0
reply_wait_ms = 300

[[session]]
sender_comp_id = "QA"
target_comp_id = "CHRONEX"
sending_time_tolerance_s = 0
""",
        encoding="utf-8",
    )
    return f


@pytest.fixture(scope="module")
def identical(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("identical")
    mock = serve(tmp)
    try:
        yield target_file(tmp, mock, "mock-identical")
    finally:
        mock.terminate()


def failed_steps(report: Path) -> list[tuple[str, str]]:
    out = []
    for f in sorted((report / "scenarios").glob("*.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        out += [(f"{s['keyword']} {s['text']}", s["error"]) for s in r["steps"] if s["status"] == "failed"]
    return out


def test_identical_rules_make_no_difference_and_every_run_is_recorded(
    identical: Path, tmp_path: Path
) -> None:
    """The whole of features/ against a mock with the reference rules, oracle on: every scenario
    passes (@reference-only and @needs-events ones skipped with their reason) and each run leaves
    a verified log naming the target."""
    r = chronex("run", "features", "--driver", "fix", "--sessions", str(identical), "--oracle",
                "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "@needs-events" in r.stdout and "skipped against an external FIX target" in r.stdout
    logs = sorted((tmp_path / "external").glob("*.db"))
    assert len(logs) >= 50
    v = chronex("log", "verify", str(logs[0]), "--json")
    assert v.returncode == 0 and json.loads(v.stdout)["complete"] is True
    store = open_log(logs[0], FixedClock(0), create=False)
    try:
        records = [e.record for e in store.read(1)]
    finally:
        store.close()
    (who,) = [r for r in records if isinstance(r, TargetIdentified)]
    assert who.target == "mock-identical" and who.oracle is True
    assert any(isinstance(r, FixSent) for r in records) and any(isinstance(r, FixReceived) for r in records)


@pytest.mark.parametrize(("difference", "feature", "step"), CAUGHT, ids=[c[0] for c in CAUGHT])
def test_each_rule_difference_is_caught_at_its_step(
    tmp_path: Path, difference: str, feature: str, step: str
) -> None:
    """Against a mock with one deliberate rule difference, the oracle fails exactly one scenario, at
    the step where the difference shows, with both sides and the first divergence marked."""
    mock = serve(tmp_path, difference)
    try:
        f = target_file(tmp_path, mock, f"mock-{difference}")
        r = chronex("run", feature, "--driver", "fix", "--sessions", str(f), "--oracle", "--report",
                    str(tmp_path / "report"))  # fmt: skip
    finally:
        mock.terminate()
    assert r.returncode == 1, r.stdout + r.stderr
    ((where, error),) = failed_steps(tmp_path / "report")
    assert where == step
    assert "The target and the oracle differ" in error and "oracle (Chronex reference)" in error
    assert sum(ln.startswith(">> ") for ln in error.splitlines()) == 1


SEEDS = range(5)  # every one must find every difference within the default budget


def failed_scenarios(report: Path) -> int:
    return sum(
        any(s["status"] == "failed" for s in json.loads(f.read_text(encoding="utf-8"))["steps"])
        for f in (report / "scenarios").glob("*.json")
    )


def test_every_difference_has_a_scenario_that_catches_it() -> None:
    """The tables above cover every rule difference there is."""
    every = {d.value for d in RuleDifference}
    assert {c[0] for c in CAUGHT} == every


@pytest.mark.parametrize("difference", [d.value for d in RuleDifference])
def test_fuzz_finds_each_difference_at_every_seed_and_writes_a_scenario(
    identical: Path, tmp_path: Path, difference: str
) -> None:
    """`chronex fuzz` with its default budget finds the difference at each of seeds 0..4 and
    writes a scenario of at most 10 steps for each; every one fails on the different target and
    passes on an identical one (without the oracle) and in process."""
    found = tmp_path / "found"
    mock = serve(tmp_path, difference)
    try:
        f = target_file(tmp_path, mock, f"mock-{difference}")
        for seed in SEEDS:
            r = chronex("fuzz", "--sessions", str(f), "--seed", str(seed), "--out", str(found))
            assert r.returncode == 1, f"seed {seed}: {r.stdout}{r.stderr}"
        scenarios = sorted(found.glob("*.feature"))
        assert [p.name for p in scenarios] == [f"fuzz-seed-{n}.feature" for n in SEEDS]
        for scenario in scenarios:
            steps = [ln for ln in scenario.read_text().splitlines() if ln.strip().split(" ")[0] in
                     ("Given", "When", "Then", "And", "But")]  # fmt: skip
            assert 2 <= len(steps) <= 10, scenario.read_text()
        bad = chronex(
            "run", str(found), "--driver", "fix", "--sessions", str(f), "--report", str(tmp_path / "r1")
        )
    finally:
        mock.terminate()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert failed_scenarios(tmp_path / "r1") == len(SEEDS)
    good = chronex("run", str(found), "--driver", "fix", "--sessions", str(identical), "--report",
                   str(tmp_path / "r2"))  # fmt: skip
    assert good.returncode == 0, good.stdout + good.stderr
    assert chronex("run", str(found), "--report", str(tmp_path / "r3")).returncode == 0  # in process too


def test_fuzz_finds_nothing_on_an_identical_target(identical: Path, tmp_path: Path) -> None:
    """Flows with orders, replaces, self-trades, auctions, halts and clock moves against a mock
    with the reference rules: no difference, exit 0, no scenario written."""
    r = chronex("fuzz", "--sessions", str(identical), "--seed", "0", "--budget", "40", "--out",
                str(tmp_path / "found"))  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no difference in" in r.stdout
    assert not (tmp_path / "found").exists()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, identical: Path) -> None:
    """An unreachable target, a bad sessions file, a bad seed or --oracle alone: a clear line, exit 2."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # bound, never listening: connections are refused
        r = chronex("run", "features/matching", "--driver", "fix", "--sessions", str(identical), "--target",
                    f"127.0.0.1:{closed}", "--report", str(tmp_path))  # fmt: skip
        assert r.returncode == 2 and "is unreachable" in r.stderr and "Traceback" not in r.stderr
        r = chronex("fuzz", "--sessions", str(identical), "--target", f"127.0.0.1:{closed}")
        assert r.returncode == 2 and "is unreachable" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[target]\nexternal = true\nport = 1\n", encoding="utf-8")
    r = chronex(
        "run", "features/matching", "--driver", "fix", "--sessions", str(bad), "--report", str(tmp_path)
    )
    assert r.returncode == 2 and "session: at least one [[session]]" in r.stderr
    r = chronex("fuzz", "--sessions", str(identical), "--seed", "many")
    assert r.returncode == 2 and "--seed 'many' is not a whole number" in r.stderr
    r = chronex("run", "features/matching", "--oracle", "--report", str(tmp_path))
    assert r.returncode == 2 and "give --sessions FILE" in r.stderr
    r = chronex("run", "features/matching", "--sessions", str(identical), "--report", str(tmp_path))
    assert r.returncode == 2 and "it needs --driver fix" in r.stderr
