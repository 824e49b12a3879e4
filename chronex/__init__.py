"""Chronex: test and audit a trading system on a controllable virtual clock."""

from system.runtime.manifest import code_version

__version__ = code_version()
