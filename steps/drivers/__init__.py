"""Drivers: how steps reach the system. Pick one with ``--driver NAME`` or ``CHRONEX_DRIVER``."""

from __future__ import annotations

import os

from steps.drivers.base import BookPoint, Driver, Reply, Setup
from steps.errors import StepInputError

AVAILABLE = ("inprocess",)
PLANNED = ("fix", "rest")  # join when the gateways exist; scenarios do not change

__all__ = ["AVAILABLE", "PLANNED", "BookPoint", "Driver", "Reply", "Setup", "driver_name", "make_driver"]


def driver_name(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("CHRONEX_DRIVER") or "inprocess").strip().lower()


def check_driver(name: str) -> str:
    """``name`` if it is a usable driver, else a clear error saying which are."""
    if name in AVAILABLE:
        return name
    if name in PLANNED:
        raise StepInputError(
            f"driver {name!r} is not available yet (it joins with the gateways); "
            f"available: {', '.join(AVAILABLE)}"
        )
    raise StepInputError(
        f"unknown driver {name!r} (available: {', '.join(AVAILABLE)}; planned: {', '.join(PLANNED)})"
    )


def make_driver(name: str | None = None) -> Driver:
    n = check_driver(driver_name(name))
    from steps.drivers.inprocess import InProcessDriver

    assert n == "inprocess"
    return InProcessDriver()
