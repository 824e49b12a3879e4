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
        try:  # the grammar both runners follow (behave parses with this package)
            from cucumber_tag_expressions import parse as parse_tags

            parse_tags(t)
        except ImportError:
            pass
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise BadInput(f"tag expression {t!r} is not one ({first})") from None
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


def _report_dir(report: Path) -> Path:
    """The report folder, made if missing; a path that cannot be one is bad input."""
    path = report.resolve()
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            what = "is a file" if p == path else f"is under {str(p)!r}, which is a file"
            raise BadInput(f"--report {str(report)!r} {what} (give a folder for the reports)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".chronex-write-test"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise BadInput(f"--report {str(report)!r}: cannot write there ({e.strerror})") from None
    if any(path.glob("*.py")) or (path / "__init__.py").exists():
        raise BadInput(f"--report {str(report)!r} holds code (give a folder for output only)")
    return path


def _sharded(
    targets: list[str], runner: str, tags: list[str], driver: str | None, shards: int,
    scheduler: str | None, report: Path,
) -> int:  # fmt: skip
    """The run spread over Dask workers (chronex/fleet/shards.py), reports merged into ``report``."""
    from chronex.fleet.cluster import ClusterError
    from chronex.fleet.shards import run_sharded

    try:
        return run_sharded(targets, runner, tags, driver, shards, scheduler, report)
    except (ClusterError, ValueError) as e:
        raise BadInput(str(e)) from None


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
    """Scenarios skipped by driver, by tag and reason: @inprocess ones over the wire (they need the
    system in this process), @wire ones on every driver but fix (they need the FIX link)."""
    from steps.drivers import (
        ACCOUNT_TAG,
        CONTROL_TAG,
        EVENTS_TAG,
        INPROCESS_TAG,
        REFERENCE_TAG,
        WIRE_TAG,
        skip_reason,
    )

    for tag, where in (
        (INPROCESS_TAG, "over the wire"),
        (WIRE_TAG, "without the FIX link"),
        (REFERENCE_TAG, "against the external target"),
        (CONTROL_TAG, "against an external target without a control channel"),
        (EVENTS_TAG, "against the external FIX target"),
        (ACCOUNT_TAG, "against the external REST target"),
    ):
        reason = skip_reason(driver, [tag])
        if reason is None:
            continue
        skipped = [r for r in results if tag in (r.get("tags") or []) and r.get("status") != "passed"]
        if not skipped:
            continue
        head = f"Skipped {where}: {len(skipped)} of {len(results)} scenarios, @{tag}: {reason}"
        out.print(head, soft_wrap=True)
        for r in skipped:
            out.print(f"  @{tag} {r['location']}  {r['scenario']}", soft_wrap=True)


def _check_fix_target(target: str) -> None:
    """A `chronex serve` the FIX driver can run scenarios on: it answers on its admin port, resets
    between scenarios (``--allow-reset``, virtual clock) and has the driver's FIX session. Checked
    once, so a wrong server is one line, not every scenario failing alike."""
    from steps.drivers.fix import SESSION
    from system.server.admin import AdminClient, AdminError

    host, _, port = target.rpartition(":")
    try:
        admin = AdminClient(host or "127.0.0.1", int(port), timeout=5.0)
    except OSError as e:
        raise BadInput(f"--target {target}: no chronex serve answers there ({e.strerror or e})") from None
    try:
        info = admin.call("ping")
        sessions = admin.call("fix_status").get("sessions", {}) if info.get("fix_port") else {}
    except (AdminError, OSError) as e:
        raise BadInput(f"--target {target}: {e}") from None
    finally:
        admin.close()
    if not info.get("allow_reset"):
        raise BadInput(
            f"--target {target}: that server cannot reset between scenarios, which the FIX driver needs:"
            f" start it with --allow-reset on --clock virtual (it runs --clock {info.get('clock')})"
        )
    if not info.get("fix_port"):
        raise BadInput(f"--target {target}: the server has no FIX port (start it with --fix-port)")
    if f"CHRONEX->{SESSION}" not in sessions:
        raise BadInput(
            f"--target {target}: the server has no FIX session CHRONEX->{SESSION} with accounts [\"*\"],"
            " the one the FIX driver logs on to (see docs/serve.md)"
        )


def _external(sessions: Path, target: str | None, oracle: bool, driver: str) -> None:
    """Check the external target's sessions file and that its FIX port answers; hand both to the
    driver through the environment (the runners are child processes)."""
    import socket

    from system.oracle.config import ConfigError, load_target

    if driver != "fix":
        raise BadInput("--sessions names an external FIX target: it needs --driver fix (or rest)")
    try:
        cfg = load_target(sessions, target=target, oracle=oracle)
    except (ConfigError, ValueError) as e:
        raise BadInput(str(e)) from None
    try:
        socket.create_connection((cfg.host, cfg.port), timeout=10).close()
    except OSError as e:
        raise BadInput(
            f"target {cfg.name} at {cfg.host}:{cfg.port} is unreachable ({e.strerror or e}); is it running?"
        ) from None
    os.environ["CHRONEX_EXTERNAL_SESSIONS"] = str(sessions.resolve())
    os.environ["CHRONEX_EXTERNAL_TARGET"] = target or ""
    os.environ["CHRONEX_ORACLE"] = "1" if cfg.oracle else ""
    os.environ.pop("CHRONEX_FIX_TARGET", None)


def _rest_external(url: str | None, api_key: str | None, sessions: Path | None, oracle: bool) -> None:
    """Check the REST target (URL, API key, target file) and that it answers; hand it to the
    driver through the environment (the runners are child processes)."""
    import httpx

    from system.oracle.config import ConfigError
    from system.oracle.resttarget import load_rest_target

    try:
        cfg = load_rest_target(url, api_key, sessions, oracle=oracle)
    except (ConfigError, ValueError) as e:
        raise BadInput(str(e)) from None
    try:
        r = httpx.get(f"{cfg.url}/v1/audit/head", headers={"X-API-Key": cfg.api_key}, timeout=10)
    except httpx.HTTPError as e:
        raise BadInput(f"target {cfg.name} at {cfg.url} is unreachable ({e}); is it running?") from None
    if r.status_code in (401, 403):
        raise BadInput(f"target {cfg.name} at {cfg.url} refused the API key ({r.status_code})")
    os.environ["CHRONEX_REST_TARGET"] = cfg.url
    os.environ["CHRONEX_REST_API_KEY"] = cfg.api_key
    os.environ["CHRONEX_REST_TARGET_FILE"] = str(sessions.resolve()) if sessions is not None else ""
    os.environ["CHRONEX_ORACLE"] = "1" if cfg.oracle else ""
    os.environ.pop("CHRONEX_EXTERNAL_SESSIONS", None)


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
        report: Annotated[
            Path, typer.Option("--report", help="where reports go (a folder of output, not code)")
        ] = Path("out"),
        driver: Annotated[
            str | None, typer.Option("--driver", help="how steps reach the system (inprocess, fix or rest)")
        ] = None,
        target: Annotated[
            str | None,
            typer.Option(
                "--target",
                help="fix driver: HOST:ADMIN_PORT of `chronex serve --allow-reset`; "
                "with --sessions: HOST:PORT of the external target's FIX acceptor; "
                "rest driver: the external target's URL (http://HOST:PORT)",
            ),
        ] = None,
        sessions: Annotated[
            Path | None,
            typer.Option(
                "--sessions",
                help="the external target's file (docs/external.md): FIX sessions, or a REST target's",
            ),
        ] = None,
        api_key: Annotated[
            str | None,
            typer.Option(
                "--api-key", help="rest driver: the external target's API key (else CHRONEX_API_KEY)"
            ),
        ] = None,
        oracle: Annotated[
            bool,
            typer.Option("--oracle", help="external target: run Chronex beside it and compare every reply"),
        ] = False,
        jobs: Annotated[int, typer.Option("--jobs", help="parallel workers (pytest runner)")] = 2,
        shards: Annotated[
            int, typer.Option("--shards", help="split the feature files over N Dask workers, merge reports")
        ] = 1,
        scheduler: Annotated[
            str | None, typer.Option("--scheduler", help="Dask scheduler for --shards (tcp://host:8786)")
        ] = None,
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
        if shards < 1:
            raise BadInput(f"--shards {shards} must be at least 1")
        if scheduler is not None and shards == 1:
            raise BadInput("--scheduler spreads shards over a cluster: give --shards N as well")
        from steps.featurecheck import check as check_features

        # Before either runner reads them: both must see the same scenarios, or none.
        wrong = check_features(targets)
        if wrong:
            raise BadInput(wrong[0] + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""))
        try:
            check_driver(driver_name(driver))
        except StepInputError as e:
            raise BadInput(str(e)) from None
        exprs = _tags(tags or [])
        report = _report_dir(report)
        for sub in ("scenarios", "junit", "allure-results", "failed", "external"):
            shutil.rmtree(report / sub, ignore_errors=True)
        (report / "junit.xml").unlink(missing_ok=True)
        os.environ["CHRONEX_REPORT_DIR"] = str(report)
        if driver:
            os.environ["CHRONEX_DRIVER"] = driver
        for k in ("CHRONEX_REST_TARGET", "CHRONEX_REST_API_KEY", "CHRONEX_REST_TARGET_FILE"):
            os.environ.pop(k, None)
        rest = driver_name(driver) == "rest"
        if rest and (target is not None or sessions is not None):
            _rest_external(target, api_key, sessions, oracle)
        elif api_key is not None:
            raise BadInput("--api-key is for an external REST target: give --driver rest --target URL")
        elif target is not None:
            _, sep, port = target.rpartition(":")
            if not sep or not port.isdigit():
                raise BadInput(f"--target {target!r} is not HOST:PORT")
            if driver_name(driver) != "fix":
                raise BadInput("--target needs --driver fix or rest")
        if oracle and sessions is None and not (rest and target is not None):
            raise BadInput(
                "--oracle compares an external target with Chronex: give --sessions FILE "
                "(or --driver rest --target URL) as well"
            )
        if sessions is not None and not rest:
            _external(sessions, target, oracle, driver_name(driver))
        elif target is not None and not rest:
            _check_fix_target(target)
            os.environ["CHRONEX_FIX_TARGET"] = target
        if shards > 1:
            rc = _sharded(targets, runner, tags or [], driver, shards, scheduler, report)
        else:
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
