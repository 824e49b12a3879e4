"""kill -9 in the middle of appends loses no acknowledged entry and leaves a log that verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from system.clock import FixedClock
from system.eventlog import Event, open_log, verify


class CrashTick(Event, frozen=True):
    """The child's record, defined here too so the parent can decode what it wrote."""

    n: int

    def stream(self) -> str:
        return f"s/{self.n % 3}"


CHILD = textwrap.dedent(
    """
    import sys
    from system.clock import FixedClock
    from system.eventlog import Event, NewEvent, open_log

    class CrashTick(Event, frozen=True):
        n: int
        def stream(self) -> str:
            return f"s/{self.n % 3}"

    store = open_log(sys.argv[1], FixedClock(1))
    n = 0
    while True:
        size = 1 + n % 7
        out = store.append([NewEvent(CrashTick(n + i), n + i) for i in range(size)])
        n += size
        # Acknowledge only after append returned: these entries must survive.
        print(out[-1].seq, flush=True)
    """
)


def test_sigkill_loses_no_acknowledged_append(tmp_path: Path) -> None:
    """A child appending in a loop is SIGKILLed; every seq it acknowledged is there and verifies."""
    path = tmp_path / "crash.db"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    acked: list[int] = []
    for line in child.stdout:
        acked.append(int(line))
        if len(acked) >= 300:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with open_log(path, FixedClock(0), create=False) as store:
        head = store.head().seq
        assert head >= acked[-1]
        stored = {e.seq for e in store.read()}
        assert set(acked) <= stored
        v = verify(store)
        assert v.ok, str(v)
        assert v.count == head
