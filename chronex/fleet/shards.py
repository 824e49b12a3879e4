"""``chronex run --shards N``: the feature files split into N shards of about equal scenario
counts, each run by ``chronex run`` on a Dask worker, and their reports merged into one folder.

A shard runs in a scratch folder on its worker and sends back its report files (scenario JSON,
Allure results, JUnit XML, kept logs of failed scenarios) as bytes, so the workers need the same
checkout of the features but no shared filesystem. The merged folder is what an unsharded run
writes: ``reports.html`` builds the one HTML page from it as usual.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec

_SCENARIO = re.compile(r"^\s*(Scenario|Scenario Outline|Scenario Template|Example)\s*:", re.MULTILINE)
_COPIED = ("scenarios", "allure-results", "junit", "failed")


class ShardOutput(msgspec.Struct, frozen=True):
    index: int
    rc: int
    files: dict[str, bytes]  # path inside the shard's report folder -> content
    tail: str  # the end of the shard's output, shown when it did not run its scenarios


def feature_files(paths: list[str]) -> list[Path]:
    """Every .feature file under ``paths`` (files as given, folders searched), absolute, sorted."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found.update(f.resolve() for f in p.rglob("*.feature"))
        elif p.suffix == ".feature":
            found.add(p.resolve())
    return sorted(found)


def plan_shards(files: list[Path], n: int) -> list[list[Path]]:
    """At most ``n`` shards, balanced by scenario count (largest file first into the lightest
    shard); the same files always give the same shards."""
    weights = {f: max(1, len(_SCENARIO.findall(f.read_text(encoding="utf-8")))) for f in files}
    shards: list[list[Path]] = [[] for _ in range(min(n, len(files)))]
    load = [0] * len(shards)
    for f in sorted(files, key=lambda f: (-weights[f], str(f))):
        i = min(range(len(shards)), key=lambda k: (load[k], k))
        shards[i].append(f)
        load[i] += weights[f]
    return [sorted(s) for s in shards]


def run_shard(
    index: int, files: list[str], runner: str, tags: list[str], driver: str | None, cwd: str
) -> ShardOutput:
    """Run ``chronex run`` on ``files`` into a scratch report folder; return what it wrote."""
    scratch = Path(tempfile.mkdtemp(prefix=f"chronex-shard{index}-"))
    try:
        args = [sys.executable, "-c", "from chronex.cli import entry; entry()", "run", *files,
                "--runner", runner, "--report", str(scratch), "--jobs", "1"]  # fmt: skip
        for t in tags:
            args += ["--tags", t]
        if driver:
            args += ["--driver", driver]
        here = cwd if Path(cwd).is_dir() else None
        proc = subprocess.run(args, cwd=here, capture_output=True, text=True, check=False)
        files_out: dict[str, bytes] = {}
        for sub in _COPIED:
            for f in sorted((scratch / sub).rglob("*")):
                if f.is_file():
                    files_out[str(f.relative_to(scratch))] = f.read_bytes()
        if (scratch / "junit.xml").is_file():
            files_out["junit.xml"] = (scratch / "junit.xml").read_bytes()
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        return ShardOutput(index, proc.returncode, files_out, tail)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def merge(outputs: list[ShardOutput], report: Path) -> None:
    """Write every shard's files into ``report``: scenario JSON, Allure results and kept logs side
    by side (their names are unique per run), behave's JUnit files into ``junit/``, and pytest's
    ``junit.xml`` files joined into one ``<testsuites>``."""
    suites: list[ET.Element] = []
    for out in sorted(outputs, key=lambda o: o.index):
        for rel, data in out.files.items():
            if rel == "junit.xml":
                suites.extend(_suites(data, out.index))
                continue
            dest = report / rel
            if dest.exists():  # two shards' features named alike: keep both
                dest = dest.with_name(f"shard{out.index}-{dest.name}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    if suites:
        root = ET.Element("testsuites")
        for attr in ("tests", "failures", "errors", "skipped"):
            root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
        root.extend(suites)
        ET.ElementTree(root).write(report / "junit.xml", encoding="utf-8", xml_declaration=True)


def _suites(data: bytes, index: int) -> list[ET.Element]:
    root = ET.fromstring(data)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for s in suites:
        s.set("name", f"{s.get('name', 'pytest')}-shard{index}")
    return suites


def run_sharded(
    paths: list[str],
    runner: str,
    tags: list[str],
    driver: str | None,
    shards: int,
    scheduler: str | None,
    report: Path,
) -> int:
    """Run the features in ``shards`` shards on Dask and merge their reports into ``report``.
    Returns the run's exit code (0 when every shard passed; else a failed shard's code)."""
    import uuid

    from rich.console import Console

    from chronex.fleet.cluster import fleet_client, run_tasks

    err = Console(stderr=True, highlight=False)
    plan = plan_shards(feature_files(paths), shards)
    if not plan:
        raise ValueError(f"no .feature files under {' '.join(paths)}")
    run_id = uuid.uuid4().hex[:12]  # keys unique per run: a long-lived scheduler caches results by key
    cwd = str(Path.cwd())
    calls = [
        (f"chronex-shard-{run_id}-{i}", (i, [str(f) for f in files], runner, tags, driver, cwd))
        for i, files in enumerate(plan)
    ]
    with fleet_client(scheduler, None if scheduler else len(plan)) as client:
        batch = run_tasks(client, run_shard, calls, title=f"{len(plan)} scenario shards", retries=0)
    outputs: list[ShardOutput] = batch.results
    merge(outputs, report)
    rc = 0
    for key, why in batch.failures:
        err.print(f"shard {key} did not run: {why}", markup=False, soft_wrap=True)
        rc = rc or 1
    for o in outputs:
        if o.rc == 0 or (o.rc == 1 and "no scenario ran" in o.tail):
            continue  # a shard whose scenarios the tags all left out
        if o.rc != 1 or not any(k.startswith("scenarios/") for k in o.files):
            err.print(f"shard {o.index} exited {o.rc}:\n{o.tail}", markup=False, soft_wrap=True)
        rc = rc or o.rc
    return rc
