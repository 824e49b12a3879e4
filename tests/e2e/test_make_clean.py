"""`make clean` removes generated files only; run output goes to a folder that holds no code."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from chronex.cli import main

ROOT = Path(__file__).resolve().parents[2]


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_clean_keeps_every_tracked_file(tmp_path: Path) -> None:
    """In a copy of the tracked tree plus typical output, `make clean` deletes the output, the
    caches and the virtualenv, and every tracked file (reports/*.py included) survives unchanged."""
    files = tracked()
    assert "reports/audit.py" in files and "reports/html.py" in files
    copy = tmp_path / "repo"
    for f in files:
        (copy / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, copy / f)
    generated = ["out/report.html", "out/junit/a.xml", "out/failed/x.db", ".venv/bin/python",
                 ".pytest_cache/x", ".mypy_cache/x", ".ruff_cache/x", "system/__pycache__/a.pyc"]  # fmt: skip
    for g in generated:
        (copy / g).parent.mkdir(parents=True, exist_ok=True)
        (copy / g).write_text("generated")
    subprocess.run(["make", "clean"], cwd=copy, check=True, capture_output=True)
    for f in files:
        assert (copy / f).read_bytes() == (ROOT / f).read_bytes(), f"make clean changed {f}"
    for g in generated:
        assert not (copy / g).exists(), f"make clean left {g}"


def test_run_writes_reports_outside_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    """`chronex run` defaults to out/ and refuses a folder holding code (it clears subfolders)."""
    assert main(["run", "--help"]) == 0
    assert "[default: out]" in " ".join(capsys.readouterr().out.split())
    assert main(["run", "features", "--report", str(ROOT / "reports")]) == 2
    assert "holds code" in capsys.readouterr().err
