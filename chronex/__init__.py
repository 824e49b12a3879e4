"""Chronex: test and audit a trading system on a controllable virtual clock."""

from typing import Any


def __getattr__(name: str) -> Any:
    # Read on demand: importing the package (every `chronex` command does) stays cheap.
    if name == "__version__":
        from system.runtime.manifest import code_version

        return code_version()
    raise AttributeError(f"module 'chronex' has no attribute {name!r}")
