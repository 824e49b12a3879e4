"""Drivers: how steps reach the system. Pick one with ``--driver NAME`` or ``CHRONEX_DRIVER``.

``inprocess`` holds the system in this process; ``fix`` reaches ``chronex serve`` over FIX and
its admin channel (a wire driver: scenarios tagged ``@inprocess`` are skipped with a reason).
"""

from __future__ import annotations

import os

from steps.drivers.base import BookPoint, Driver, Reply, Setup, WireDriver
from steps.errors import StepInputError

AVAILABLE = ("inprocess", "fix")
PLANNED = ("rest",)  # joins when the gateway exists; scenarios do not change
WIRE = ("fix",)
INPROCESS_TAG = "inprocess"
SKIP_REASON = "needs the system in this process (tagged @inprocess); skipped over the wire"

__all__ = [
    "AVAILABLE",
    "INPROCESS_TAG",
    "PLANNED",
    "SKIP_REASON",
    "WIRE",
    "BookPoint",
    "Driver",
    "Reply",
    "Setup",
    "WireDriver",
    "driver_name",
    "make_driver",
    "skip_reason",
]


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


def skip_reason(driver: str | None, tags: object) -> str | None:
    """Why a scenario with ``tags`` cannot run on ``driver`` (None: it can)."""
    if driver_name(driver) in WIRE and INPROCESS_TAG in set(tags):  # type: ignore[call-overload]
        return SKIP_REASON
    return None


def make_driver(name: str | None = None) -> Driver:
    n = check_driver(driver_name(name))
    if n == "fix":
        from steps.drivers.fix import FixDriver

        return FixDriver()
    from steps.drivers.inprocess import InProcessDriver

    return InProcessDriver()
