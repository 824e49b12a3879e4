"""Bad command lines end in one line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("log", "show", "--bogus", "x"),
        ("log", "show"),
        ("no-such-command",),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...]) -> None:
    """An unknown option, a missing argument or an unknown command exits 2 and names the problem."""
    r = _run(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip()


def test_version_exits_0() -> None:
    """`chronex version` prints the version and exits 0."""
    r = _run("version")
    assert r.returncode == 0
    assert r.stdout.startswith("chronex ")
