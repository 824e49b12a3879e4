"""The composition root knows every record type a build can write, whatever a process imported."""

from __future__ import annotations

import json
import subprocess
import sys

_EVERYTHING = """
import importlib, json, pkgutil, system, sim
from system.eventlog.records import _REGISTRY
for pkg in (system, sim):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(m.name)
print(json.dumps(sorted(_REGISTRY)))
"""
_ROOT_ONLY = """
import json
import system.bootstrap
from system.eventlog.records import _REGISTRY
print(json.dumps(sorted(_REGISTRY)))
"""
_KERNEL_ONLY = """
import json, sys
from system.eventlog import lookup
print(json.dumps([lookup(n).cls.__module__ for n in sys.argv[1:]]))
"""


def _run(code: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_root_registers_every_record_defined_in_system_and_sim() -> None:
    """Importing system.bootstrap alone registers exactly the records that importing every module
    of system/ and sim/ does: a new record module must be named in RECORD_MODULES."""
    assert _run(_ROOT_ONLY) == _run(_EVERYTHING)


def test_a_process_that_imported_only_the_log_decodes_every_record() -> None:
    """lookup() of a risk, pricing or corrections record works in a process that imported only
    system.eventlog (the registry loads the composition root on the first unknown name)."""
    names = ["MarginWarning", "MarkPriceSet", "TradeBusted", "RunFinished", "RunConfigured"]
    assert _run(_KERNEL_ONLY, *names) == [
        "system.risk.events", "system.pricing.events", "system.corrections",
        "system.runtime.manifest", "system.runconfig",
    ]  # fmt: skip
