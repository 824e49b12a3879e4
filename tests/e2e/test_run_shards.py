"""`chronex run --shards N`: feature files spread over Dask workers, their JUnit, Allure and HTML
reports merged into one folder that reads like an unsharded run's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chronex.cli import main
from chronex.fleet.shards import ShardOutput, feature_files, merge, plan_shards
from tests.e2e.test_cli_run import chronex

MATCHING = Path(__file__).resolve().parents[2] / "features" / "matching"
THREE = ["features/matching/market_orders.feature", "features/matching/self_trade.feature",
         "features/matching/rejections.feature"]  # fmt: skip


def test_shards_balance_scenarios_and_are_stable() -> None:
    """Files go largest first into the lightest shard; the same files give the same shards."""
    files = feature_files([str(MATCHING)])
    shards = plan_shards(files, 3)
    assert len(shards) == 3 and sorted(f for s in shards for f in s) == files
    assert plan_shards(list(reversed(files)), 3) == shards
    assert len(plan_shards(files[:2], 5)) == 2  # never an empty shard


def test_merge_joins_pytest_junit_files_and_keeps_both_of_two_same_names(tmp_path: Path) -> None:
    """Two shards' junit.xml become one <testsuites> with summed counts; files that would collide
    are both kept."""

    def junit(tests: int, failures: int) -> bytes:
        return (f'<testsuites><testsuite name="pytest" tests="{tests}" failures="{failures}" errors="0" '
                f'skipped="0"><testcase name="t"/></testsuite></testsuites>').encode()  # fmt: skip

    merge(
        [
            ShardOutput(1, 1, {"junit.xml": junit(2, 1), "junit/TESTS-a.xml": b"<b/>"}, ""),
            ShardOutput(0, 0, {"junit.xml": junit(3, 0), "junit/TESTS-a.xml": b"<a/>"}, ""),
        ],
        tmp_path,
    )
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures")) == ("5", "1")
    assert [s.get("name") for s in root] == ["pytest-shard0", "pytest-shard1"]
    assert (tmp_path / "junit" / "TESTS-a.xml").read_bytes() == b"<a/>"
    assert (tmp_path / "junit" / "shard1-TESTS-a.xml").read_bytes() == b"<b/>"


def test_two_shards_under_behave_report_every_scenario_once(tmp_path: Path) -> None:
    """Three feature files over two shards: exit 0, all 16 scenarios in one summary, one HTML
    page, a JUnit file per feature and the Allure results of both shards."""
    r = chronex("run", *THREE, "--shards", "2", "--report", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    total = next(line for line in r.stdout.splitlines() if "Total" in line)
    assert total.split("│")[2].strip() == "16"
    junit = sorted(p.name for p in (tmp_path / "junit").glob("*.xml"))
    assert junit == [f"TESTS-matching.{n}.xml" for n in ("market_orders", "rejections", "self_trade")]
    assert len(list((tmp_path / "scenarios").glob("*.json"))) == 16
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "A market buy sweeps the asks" in html and "Self-trade prevention" in html
    assert any((tmp_path / "allure-results").glob("*-result.json"))


@pytest.mark.slow
def test_a_failing_shard_under_pytest_fails_the_run_with_one_junit(tmp_path: Path) -> None:
    """The demo failure in one shard and a green feature in the other: exit 1, the failure's
    diff printed, one merged junit.xml counting both shards."""
    r = chronex("run", "features/demo", THREE[0], "--tags", "@demo_failure or not @demo_failure",
                "--runner", "pytest", "--shards", "2", "--report", str(tmp_path))  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    assert "! got | 100     | 2500 | 2501 | 200 ✗" in r.stdout
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert len(root.findall("testsuite")) == 2
    assert int(root.get("tests", "0")) == 5 and int(root.get("failures", "0")) >= 1


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--shards", "0"], "--shards 0"), (["--scheduler", "tcp://h:1"], "--shards N"),
     (["--shards", "2", "--scheduler", "tcp://127.0.0.1:9"], "cannot connect")],
)  # fmt: skip
def test_bad_shard_options_are_one_line_and_exit_2(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--shards 0, --scheduler without --shards, or a scheduler that does not answer: exit 2."""
    assert main(["run", THREE[0], *args, "--report", str(tmp_path)]) == 2
    assert says in capsys.readouterr().err
