"""The ``chronex`` command run as a user runs it: a subprocess of this interpreter, from the
repository's root unless told otherwise, with none of the test run's own ``CHRONEX_`` settings
(a driver, a target, a report folder) leaking into it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chronex(
    *args: str,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    drop: Iterable[str] = (),
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ``chronex ARGS``; ``env`` adds settings, ``drop`` removes more inherited ones."""
    dropped = set(drop)
    e = {k: v for k, v in os.environ.items() if not k.startswith("CHRONEX_") and k not in dropped}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from chronex.cli import entry; entry()", *args],
        cwd=cwd, capture_output=True, text=True, env=e, timeout=timeout,
    )  # fmt: skip
