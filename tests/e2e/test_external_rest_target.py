"""Scenarios against an external target reached only over REST (a served mock), Chronex's engine as
the oracle: no difference with the same rules, a deliberate difference caught at its step, and
every run recorded."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from system.clock import FixedClock
from system.eventlog import open_log
from system.oracle import RestReceived, RestSent, TargetIdentified
from system.server.process import ServeProcess
from tests import cli

ROOT = Path(__file__).resolve().parents[2]
KEY = "qa-rest-target-key"
KEYS = f'[[key]]\nkey = "{KEY}"\nname = "qa"\nrole = "qa-admin"\n'


def chronex(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.chronex(*args, timeout=900)


def serve(tmp: Path, difference: str | None = None) -> ServeProcess:
    (tmp / "keys.toml").write_text(KEYS, encoding="utf-8")
    args = [
        "--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--allow-reset", "--rest-port", "0",
        "--api-keys", str(tmp / "keys.toml"), "--start", "2027-01-04T00:00Z",
    ]  # fmt: skip
    return ServeProcess([*args, "--rule-difference", difference] if difference else args)


def target_file(tmp: Path, mock: ServeProcess, name: str) -> Path:
    """The target file a user writes; ``control`` lets the mock be reset (never read)."""
    f = tmp / f"{name}.toml"
    f.write_text(
        f'[target]\nexternal = true\nname = "{name}"\ncontrol = "127.0.0.1:{mock.admin_port}"\n\n'
        "[oracle]\nclock_skew_ms = 0\nreply_wait_ms = 300\n",
        encoding="utf-8",
    )
    return f


def url(mock: ServeProcess) -> str:
    return f"http://127.0.0.1:{mock.info['rest_port']}"


@pytest.fixture(scope="module")
def identical(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, Path]]:
    tmp = tmp_path_factory.mktemp("rest-identical")
    mock = serve(tmp)
    try:
        yield mock, target_file(tmp, mock, "mock-rest-identical")
    finally:
        mock.terminate()


def failed_steps(report: Path) -> list[tuple[str, str]]:
    out = []
    for f in sorted((report / "scenarios").glob("*.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        out += [(f"{s['keyword']} {s['text']}", s["error"]) for s in r["steps"] if s["status"] == "failed"]
    return out


def test_identical_rules_over_rest_make_no_difference_and_every_run_is_recorded(
    identical: tuple[ServeProcess, Path], tmp_path: Path
) -> None:
    """features/matching over REST with the oracle on: every scenario passes, stop triggers and
    iceberg refills included (the one @account-in-request scenario skipped with its reason), and
    each run leaves a verified log naming the target, with the requests sent and the answers received."""
    mock, f = identical
    r = chronex("run", "features/matching", "--driver", "rest", "--target", url(mock), "--api-key", KEY,
                "--sessions", str(f), "--oracle", "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Skipped against the external REST target: 1 of" in r.stdout and "@account-in-request" in r.stdout
    assert "@needs-events" not in r.stdout and "@reference-only" not in r.stdout
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
    assert (who.target, who.target_comp_id, who.oracle) == ("mock-rest-identical", url(mock), True)
    sent = [r for r in records if isinstance(r, RestSent)]
    got = [r for r in records if isinstance(r, RestReceived)]
    assert sent and got and sent[0].method == "POST" and got[0].status == 201


def test_a_rule_difference_is_caught_over_rest_at_its_step(tmp_path: Path) -> None:
    """Against a mock whose STP cancels the resting order, the oracle fails the scenario at the step
    that shows it, both sides printed and the first divergence marked."""
    mock = serve(tmp_path, "stp-cancel-oldest")
    try:
        f = target_file(tmp_path, mock, "mock-rest-stp")
        r = chronex("run", "features/matching/self_trade.feature", "--driver", "rest", "--target",
                    url(mock), "--api-key", KEY, "--sessions", str(f), "--oracle", "--report",
                    str(tmp_path / "report"))  # fmt: skip
    finally:
        mock.terminate()
    assert r.returncode == 1, r.stdout + r.stderr
    ((where, error),) = failed_steps(tmp_path / "report")
    assert where == "When alice buys 100 XTKS:7203 at 2500 stp CANCEL_NEWEST as inc"
    assert "The target and the oracle differ" in error and "oracle (Chronex reference)" in error
    assert sum(ln.startswith(">> ") for ln in error.splitlines()) == 1


def test_bad_rest_targets_are_bad_input(identical: tuple[ServeProcess, Path], tmp_path: Path) -> None:
    """An unreachable URL, a refused key or a missing key: one line naming it, exit 2."""
    mock, _ = identical
    r = chronex("run", "features/matching/limit_orders.feature", "--driver", "rest", "--target",
                "http://127.0.0.1:9", "--api-key", KEY, "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 2 and "http://127.0.0.1:9 is unreachable" in r.stderr, r.stderr
    r = chronex("run", "features/matching/limit_orders.feature", "--driver", "rest", "--target", url(mock),
                "--api-key", "wrong", "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 2 and "refused the API key (401)" in r.stderr, r.stderr
    r = chronex("run", "features/matching/limit_orders.feature", "--driver", "rest", "--target", url(mock),
                "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 2 and "give --api-key KEY or set CHRONEX_API_KEY" in r.stderr, r.stderr
