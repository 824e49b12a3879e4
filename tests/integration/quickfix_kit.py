"""QuickFIX (the quickfix-py wheel) as an independent FIX engine, shared by the tests that drive
Chronex with it: its FIX 4.4 dictionary and ``QuickFix``, its engines in a process of their own
(tests/integration/quickfix_peer.py), so that a crash inside QuickFIX fails the test that met it
instead of taking the test worker down. Importing this skips the importing module when quickfix
is missing."""

from __future__ import annotations

import contextlib
import json
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import pytest

pytest.importorskip("quickfix")

DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
ROOT = Path(__file__).resolve().parents[2]

Fields = list[tuple[int, str]]


class PeerDied(AssertionError):
    """The QuickFIX process ended (a crash inside QuickFIX): the test fails naming it."""


class QuickFix:
    """QuickFIX engines in a child process. Every call waits for the child's answer; an engine is
    named by the test (``engine("client", ...)``) and used by that name after."""

    def __init__(self) -> None:
        self._err = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close()); a file, not a pipe: QuickFIX may say a lot
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.quickfix_peer"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
        )  # fmt: skip

    def call(self, op: str, wait: float = 60.0, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._died(op)
        deadline = time.monotonic() + wait
        while not select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"QuickFIX peer: no answer to {op} in {wait} s")
        line = self.proc.stdout.readline()
        if not line:
            self._died(op)
        reply: dict[str, Any] = json.loads(line)
        if not reply.pop("ok"):
            raise AssertionError(f"QuickFIX peer: {reply['error']}")
        return reply

    def _died(self, op: str) -> NoReturn:
        rc = self.proc.wait(30)
        self._err.seek(0)
        err = self._err.read()
        how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
        raise PeerDied(f"the QuickFIX process died during {op} ({how}): {err.strip()[-2000:]}")

    def engine(self, name: str, kind: str, cfg: Path, *, store: str = "memory", log: str = "screen",
               tags: Iterable[int] = (), header_tags: Iterable[int] = (35,),
               app: str | None = None) -> None:  # fmt: skip
        """Start a QuickFIX engine; ``app`` names an engine whose application this one shares."""
        self.call("engine", name=name, kind=kind, cfg=str(cfg), store=store, log=log,
                  tags=list(tags), header_tags=list(header_tags), app=app)  # fmt: skip

    def logged_on(self, name: str, timeout: float = 30.0) -> bool:
        return bool(self.call("wait_logon", wait=timeout + 30, name=name, timeout=timeout)["logged_on"])

    def logged_out(self, name: str, timeout: float = 30.0) -> bool:
        return bool(self.call("wait_logout", wait=timeout + 30, name=name, timeout=timeout)["logged_out"])

    def send(self, name: str, to: str, msg_type: str, fields: Fields) -> None:
        assert self.call("send", name=name, to=to, msg_type=msg_type, fields=fields)["sent"]

    def get(self, name: str, timeout: float = 30.0) -> dict[int, str]:
        """The next application message the engine was sent: the tags asked for, and ``0`` its text."""
        msg = self.call("get", wait=timeout + 30, name=name, timeout=timeout)["msg"]
        if msg is None:
            raise TimeoutError(f"QuickFIX {name}: no application message in {timeout} s")
        return {0 if k == "raw" else int(k): v for k, v in msg.items()}

    def take(self, name: str, n: int, timeout: float = 30.0) -> list[dict[int, str]]:
        return [self.get(name, timeout) for _ in range(n)]

    def logout(self, name: str, timeout: float = 30.0) -> list[str]:
        """Every session of the engine's application logs out (a FIX Logout, answered); the
        session Rejects it received. (Not QuickFIX's stop(), which crashes now and then.)"""
        reply = self.call("logout", wait=timeout + 30, name=name, timeout=timeout)
        assert reply["logged_out"], f"QuickFIX {name}: a session did not log out in {timeout} s"
        return list(reply["admin_rejects"])

    def close(self) -> None:
        """Leave: the child exits without QuickFIX's destructors; its sockets close with it."""
        if self.proc.poll() is None:
            with contextlib.suppress(PeerDied, TimeoutError, OSError):
                self.call("exit", wait=30)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):  # stdin's unsent bytes to a dead peer
                    f.close()
        self._err.close()

    def __enter__(self) -> QuickFix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
