"""Start ``chronex serve`` in a child process and wait for its ready line (drivers, tests, bench).

The child's stderr goes to a temporary file and its stdout is drained after the ready line: a pipe
nobody reads fills at 64 KiB and then blocks the server on its next log line. On Linux the child
gets SIGTERM when the process that started it dies (``PR_SET_PDEATHSIG``), so a killed bench or test
run leaves no server behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
try:  # looked up here, not in the forked child (no dynamic loading between fork and exec)
    _prctl: Any = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ServeFailed(Exception):
    """``chronex serve`` exited or printed no ready line; the message holds its stderr."""


class ServeProcess:
    """A running ``chronex serve``; ``info`` is its ready line (ports, pid, clock, log)."""

    def __init__(self, args: Sequence[str], *, cwd: Path | None = None, timeout: float = 60.0) -> None:
        cmd = [sys.executable, "-c", "from chronex.cli import entry; entry()", "serve", *args]
        env = dict(os.environ)
        # Closed by _close_pipes once the server has exited.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            preexec_fn=_die_with_parent if _prctl is not None else None,
        )
        assert self.proc.stdout is not None
        self.last_stderr = ""
        self.stdout_tail: deque[str] = deque(maxlen=200)  # what it printed after the ready line
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout)
            self._close_pipes()
            err = self.last_stderr
            raise ServeFailed(f"chronex serve exited with {self.proc.returncode}: {err.strip()}")
        self.info: dict[str, Any] = json.loads(line)
        self._drain = threading.Thread(target=self._drain_stdout, name="serve-stdout", daemon=True)
        self._drain.start()

    def _drain_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            for line in out:
                self.stdout_tail.append(line)
        except (ValueError, OSError):  # closed by _close_pipes
            pass

    @property
    def stderr(self) -> str:
        """What the server has written to stderr so far."""
        if self._stderr.closed:
            return self.last_stderr
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

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
        if not self._stderr.closed:
            self.last_stderr = self.stderr
            self._stderr.close()
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.join(5)  # the child has exited: its stdout is at EOF
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()
