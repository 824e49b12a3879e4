"""Start ``chronex serve`` in a child process and wait for its ready line (drivers, tests, bench)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ServeFailed(Exception):
    """``chronex serve`` exited or printed no ready line; the message holds its stderr."""


class ServeProcess:
    """A running ``chronex serve``; ``info`` is its ready line (ports, pid, clock, log)."""

    def __init__(self, args: Sequence[str], *, cwd: Path | None = None, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", *args]
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.last_stderr = ""
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout)
            self._close_pipes()
            err = self.last_stderr
            raise ServeFailed(f"chronex serve exited with {self.proc.returncode}: {err.strip()}")
        self.info: dict[str, Any] = json.loads(line)

    @property
    def admin_port(self) -> int:
        return int(self.info["admin_port"])

    @property
    def fix_port(self) -> int:
        return int(self.info["fix_port"])

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait: the graceful path."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self._close_pipes()
        return rc

    def kill(self) -> int:
        """SIGKILL: the crash path."""
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait(30)
        self._close_pipes()
        return rc

    def _close_pipes(self) -> None:
        self.last_stderr = self.proc.stderr.read() if self.proc.stderr and not self.proc.stderr.closed else ""
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
