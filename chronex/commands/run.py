"""``chronex run``: run the scenario suite under behave or pytest-bdd and write the reports
(JUnit XML, Allure results, one HTML page), then print a summary table. Exit 0 when every
scenario passed, 1 when one failed, 2 on bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from chronex.errors import BadInput, CheckFailed

DEFAULT_TAGS = "not @demo_failure"
out = Console(highlight=False, width=max(Console().width, 110))


def _tags(tags: list[str]) -> list[str]:
    """The tag expressions to run; the demo failures stay out unless a tag names them."""
    exprs = [t.strip() for t in tags if t.strip()]
    if not any("demo_failure" in t for t in exprs):
        exprs.append(DEFAULT_TAGS)
    for t in exprs:
        # Tags may hold what both runners accept in a name: letters, digits, _ - . : + /
        if re.search(r"[^\w@\s()\-.:+/]", t):
            raise BadInput(f"tag expression {t!r} has characters other than tags, and/or/not and brackets")
    return exprs


PYTEST_INI = """[pytest]
addopts = -p no:cacheprovider
filterwarnings =
    ignore::DeprecationWarning:exchange_calendars.*
    ignore::FutureWarning:exchange_calendars.*
"""


def _pytest_marker(exprs: list[str]) -> str:
    return " and ".join(f"({e.replace('@', '')})" for e in exprs)


def _behave(paths: list[str], exprs: list[str], report: Path, driver: str | None) -> int:
    # Chronex's runner brings the steps and hooks: a features folder needs no glue files.
    args = [sys.executable, "-m", "behave", *[str(Path(p).resolve()) for p in paths]]
    args += ["--runner", "steps.behave_adapter:ChronexRunner", "--no-skipped", "--no-capture"]
    for e in exprs:
        args += ["--tags", e]
    args += ["--junit", "--junit-directory", str(report / "junit")]
    args += ["-f", "allure_behave.formatter:AllureFormatter", "-o", str(report / "allure-results")]
    args += ["-f", "progress"]
    if driver:
        args += ["-D", f"driver={driver}"]
    return subprocess.call(args)


def _pytest(paths: list[str], exprs: list[str], report: Path, driver: str | None, jobs: int) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="chronex-run-"))
    try:
        mod = tmp / "test_chronex_features.py"
        absolute = [str(Path(p).resolve()) for p in paths]
        mod.write_text(f"from pytest_bdd import scenarios\n\nscenarios(*{absolute!r})\n", encoding="utf-8")
        # Our own ini and rootdir: the run must not depend on the working folder or its config.
        ini = tmp / "pytest.ini"
        ini.write_text(PYTEST_INI, encoding="utf-8")
        args = [
            sys.executable,
            "-m",
            "pytest",
            str(mod),
            "-p",
            "steps.pytest_bdd_adapter",
            "--rootdir",
            str(tmp),
            "-c",
            str(ini),
            "-m",
            _pytest_marker(exprs),
            "-q",
            "--junitxml",
            str(report / "junit.xml"),
            "--alluredir",
            str(report / "allure-results"),
        ]
        if jobs > 1:
            args += ["-p", "xdist", "-n", str(jobs)]
        if driver:
            args += ["--driver", driver]
        return subprocess.call(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _print_failures(results: list[dict[str, object]]) -> None:
    """What each failed scenario said, the same under both runners (from the recorded results)."""
    for r in results:
        if r["status"] != "failed":
            continue
        out.rule(f"FAILED {r['feature']}: {r['scenario']}  ({r.get('location', '')})", style="red")
        for s in r.get("steps", []):  # type: ignore[attr-defined]
            if s.get("error"):
                out.print(s["error"].strip(), markup=False, soft_wrap=True)


def _print_summary(rows: list[dict[str, object]], report: Path, html: Path) -> None:
    t = Table(title="Scenarios")
    for col in ("feature", "passed", "failed", "other", "seconds"):
        t.add_column(col, justify="left" if col == "feature" else "right")
    for r in rows:
        style = "bold" if r["feature"] == "Total" else None
        t.add_row(
            str(r["feature"]),
            str(r["passed"]),
            str(r["failed"]),
            str(r["other"]),
            f"{float(str(r['seconds'])):.2f}",
            style=style,
        )
    out.print(t)
    out.print(f"HTML report: {html}")
    junit = report / "junit.xml" if (report / "junit.xml").exists() else report / "junit"
    out.print(f"JUnit XML:   {junit}")
    out.print(f"Allure:      {report / 'allure-results'}  (allure serve {report / 'allure-results'})")
    if (report / "failed").is_dir() and any((report / "failed").iterdir()):
        out.print(f"Logs of failed scenarios: {report / 'failed'}")


def _print_wire_skips(results: list[dict[str, Any]], driver: str | None) -> None:
    """Scenarios a wire driver skipped, by tag and reason (they need the system in-process)."""
    from steps.drivers import INPROCESS_TAG, skip_reason

    reason = skip_reason(driver, [INPROCESS_TAG])
    if reason is None:
        return
    skipped = [r for r in results if INPROCESS_TAG in (r.get("tags") or []) and r.get("status") != "passed"]
    if not skipped:
        return
    head = f"Skipped over the wire: {len(skipped)} of {len(results)} scenarios, @{INPROCESS_TAG}: {reason}"
    out.print(head, soft_wrap=True)
    for r in skipped:
        out.print(f"  @{INPROCESS_TAG} {r['location']}  {r['scenario']}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        paths: Annotated[
            list[str] | None, typer.Argument(help="feature files or folders (default: features)")
        ] = None,
        tags: Annotated[
            list[str] | None, typer.Option("--tags", help="tag expression, e.g. '@xtks and not @slow'")
        ] = None,
        runner: Annotated[str, typer.Option("--runner", help="behave or pytest")] = "behave",
        report: Annotated[Path, typer.Option("--report", help="where reports go")] = Path("reports"),
        driver: Annotated[
            str | None, typer.Option("--driver", help="how steps reach the system (inprocess or fix)")
        ] = None,
        target: Annotated[
            str | None,
            typer.Option("--target", help="fix driver: HOST:ADMIN_PORT of `chronex serve --allow-reset`"),
        ] = None,
        jobs: Annotated[int, typer.Option("--jobs", help="parallel workers (pytest runner)")] = 2,
    ) -> None:
        """Run the scenarios and write JUnit, Allure and HTML reports, with a summary table."""
        from reports.html import load as load_results
        from reports.html import summary, write_report
        from steps.drivers import check_driver, driver_name
        from steps.errors import StepInputError

        targets = paths or ["features"]
        for p in targets:
            if not Path(p).exists():
                raise BadInput(f"path {p!r} does not exist (give feature files or folders)")
        if runner not in ("behave", "pytest"):
            raise BadInput(f"runner {runner!r} is unknown (behave or pytest)")
        if jobs < 1:
            raise BadInput(f"--jobs {jobs} must be at least 1")
        try:
            check_driver(driver_name(driver))
        except StepInputError as e:
            raise BadInput(str(e)) from None
        exprs = _tags(tags or [])
        report = report.resolve()
        for sub in ("scenarios", "junit", "allure-results", "failed"):
            shutil.rmtree(report / sub, ignore_errors=True)
        (report / "junit.xml").unlink(missing_ok=True)
        report.mkdir(parents=True, exist_ok=True)
        os.environ["CHRONEX_REPORT_DIR"] = str(report)
        if driver:
            os.environ["CHRONEX_DRIVER"] = driver
        if target is not None:
            _, sep, port = target.rpartition(":")
            if not sep or not port.isdigit():
                raise BadInput(f"--target {target!r} is not HOST:PORT")
            if driver_name(driver) != "fix":
                raise BadInput("--target needs --driver fix")
            os.environ["CHRONEX_FIX_TARGET"] = target
        rc = (
            _behave(targets, exprs, report, driver)
            if runner == "behave"
            else _pytest(targets, exprs, report, driver, jobs)
        )
        results = load_results(report)
        html = write_report(report)
        rows = summary(results)
        _print_failures(results)
        _print_wire_skips(results, driver)
        _print_summary(rows, report, html)
        total = rows[-1]
        if not results:
            raise CheckFailed(f"no scenario ran (runner exit code {rc}); check the paths and --tags")
        if total["failed"] or rc != 0:
            raise CheckFailed(f"{total['failed']} of {len(results)} scenarios failed")
