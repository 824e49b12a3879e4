"""The determinism contract: no hidden entropy in system/ and sim/, and the same inputs give a
byte-identical log on every backend and in every process."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("system", "sim")

BANNED = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "time.perf_counter",
    "time.perf_counter_ns",
    "uuid.uuid1",
    "uuid.uuid4",
    "os.urandom",
    "os.getrandom",
    "pandas.Timestamp.now",
    "pandas.Timestamp.utcnow",
    "pandas.Timestamp.today",
}
BANNED_MODULES = ("secrets", "random", "numpy.random")
# Seeded generators are fine: these may be called, but only with a seed argument.
SEEDED = {"random.Random", "numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.Generator"}
# (path, enclosing class) pairs allowed to read the host clock.
ALLOWED = {("system/clock.py", "WallClock")}


def _aliases(tree: ast.Module) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _qualname(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def _banned(q: str) -> bool:
    if q in BANNED:
        return True
    return any(q.startswith(m + ".") for m in BANNED_MODULES) and q not in SEEDED


class _Scanner(ast.NodeVisitor):
    def __init__(self, rel: str, aliases: dict[str, str]) -> None:
        self.rel = rel
        self.aliases = aliases
        self.classes: list[str] = []
        self.found: list[str] = []
        self._callee_ids: set[int] = set()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def _allowed_here(self) -> bool:
        return any((self.rel, c) in ALLOWED for c in self.classes)

    def visit_Call(self, node: ast.Call) -> None:
        q = _qualname(node.func, self.aliases)
        if q in SEEDED and not (node.args or node.keywords) and not self._allowed_here():
            self.found.append(f"{self.rel}:{node.lineno}: {q}() without a seed")
        self.generic_visit(node)

    def _check(self, node: ast.Attribute | ast.Name) -> str | None:
        q = _qualname(node, self.aliases)
        if q is not None and _banned(q) and not self._allowed_here():
            self.found.append(f"{self.rel}:{node.lineno}: {q}")
        return q

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # A chain that resolves to a name is judged whole (datetime.datetime.now, not its parts);
        # one that does not (a call's result, a subscript) may hide a banned call inside.
        if self._check(node) is None:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._check(node)


def scan_source(source: str, rel: str) -> list[str]:
    """Every use of a banned entropy or wall-clock source in ``source``, as 'file:line: name'."""
    tree = ast.parse(source)
    s = _Scanner(rel, _aliases(tree))
    s.visit(tree)
    return s.found


def scan_tree(root: Path) -> list[str]:
    found: list[str] = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            found += scan_source(path.read_text(encoding="utf-8"), rel)
    return found


def test_core_packages_read_no_hidden_time_or_entropy() -> None:
    """Nothing under system/ or sim/ reads the wall clock or unseeded randomness (WallClock aside)."""
    found = scan_tree(ROOT)
    assert not found, "banned calls (time and ids must come from the clock and seeds):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("snippet", "banned"),
    [
        ("import datetime\nx = datetime.datetime.now()", "datetime.datetime.now"),
        ("from datetime import datetime as D\nx = D.utcnow()", "datetime.datetime.utcnow"),
        ("from datetime import date\nx = date.today()", "datetime.date.today"),
        ("from datetime import datetime\nx = datetime.now().isoformat()", "datetime.datetime.now"),
        ("import time\nx = [time.time_ns()][0].bit_length()", "time.time_ns"),
        ("import time\nx = time.time()", "time.time"),
        ("from time import perf_counter\nx = perf_counter()", "time.perf_counter"),
        ("import time as t\nf = t.monotonic", "time.monotonic"),
        ("import random\nx = random.random()", "random.random"),
        ("from random import choice\nx = choice([1])", "random.choice"),
        ("import random\nr = random.Random()", "random.Random() without a seed"),
        ("import uuid\nx = uuid.uuid4()", "uuid.uuid4"),
        ("from uuid import uuid1\nx = uuid1()", "uuid.uuid1"),
        ("import os\nx = os.urandom(8)", "os.urandom"),
        ("import secrets\nx = secrets.token_hex()", "secrets.token_hex"),
        ("import numpy as np\nx = np.random.rand()", "numpy.random.rand"),
    ],
)
def test_scanner_catches(snippet: str, banned: str) -> None:
    """The scan names the file, the line and the banned call."""
    found = scan_source(snippet, "system/x.py")
    assert found and found[0] == f"system/x.py:2: {banned}"


@pytest.mark.parametrize(
    "snippet",
    [
        "import random\nr = random.Random(42)",
        "import random\nr = random.Random(x=seed)",
        "import random\ndef f(rng: random.Random) -> None: ...",
        "from datetime import datetime\nx = datetime.fromtimestamp(0)",
        "import time\nclass WallClock:\n    def now(self):\n        return time.time_ns()",
        "time = 5\nx = time",
    ],
)
def test_scanner_allows(snippet: str) -> None:
    """Seeded generators, pure conversions and the wall clock's own class pass the scan."""
    assert scan_source(snippet, "system/clock.py") == []


# -- byte-identical logs ------------------------------------------------------------------------
SCENARIO = textwrap.dedent(
    """
    import sys
    from system.eventlog import Command, Event, open_log
    from system.runtime import Component, Context, Runtime, applies, handles, manifest
    from system.clock import FixedClock

    class DetPlace(Command, frozen=True):
        tags: tuple[str, ...]
        qty: int

    class DetPlaced(Event, frozen=True):
        tag: str
        qty: int
        def stream(self) -> str:
            return f"tag/{self.tag}"

    class Desk(Component):
        name = "desk"
        def __init__(self) -> None:
            self.seen: dict[str, int] = {}
        @handles(DetPlace)
        def place(self, cmd: DetPlace, ctx: Context) -> bool:
            # Set iteration order depends on PYTHONHASHSEED: the contract says sort it.
            for tag in sorted(set(cmd.tags)):
                ctx.emit(DetPlaced(tag, cmd.qty + self.seen.get(tag, 0)))
            return True
        @applies(DetPlaced)
        def _placed(self, ev: DetPlaced) -> None:
            self.seen[ev.tag] = ev.qty

    def run(url: str) -> bytes:
        clock = FixedClock(1_790_000_000_000_000_000)
        store = open_log(url, clock)
        rt = Runtime(store, clock, build=lambda: [Desk()])
        rt.start_run(manifest(seed=7, config={"b": 2, "a": [1, 2]}, start_time=clock.now_ns()))
        for i in range(50):
            clock.t += 1_000 * (i % 7 + 1)
            rt.execute(DetPlace(tuple(f"t{(i * k) % 11}" for k in range(5)), i))
        out = b"".join(r.body + r.hash for r in store.read_raw())
        store.close()
        return out

    if __name__ == "__main__":
        sys.stdout.write(run(sys.argv[1]).hex())
    """
)


def _run_in_process(tmp_path: Path, seed: str, url: str) -> str:
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), url], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    return done.stdout


def test_same_inputs_give_a_byte_identical_log(tmp_path: Path) -> None:
    """memory and SQLite, in two processes with different hash seeds, write the same bytes."""
    a = _run_in_process(tmp_path, "1", "memory://")
    b = _run_in_process(tmp_path, "12345", str(tmp_path / "b.db"))
    c = _run_in_process(tmp_path, "999", "memory://")
    assert len(a) > 1_000
    assert a == b == c
