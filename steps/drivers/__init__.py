"""Drivers: how steps reach the system. Pick one with ``--driver NAME`` or ``CHRONEX_DRIVER``.

``inprocess`` holds the system in this process; ``fix`` reaches ``chronex serve`` over FIX and
its admin channel, ``rest`` over the REST gateway and the admin channel (wire drivers: scenarios
tagged ``@inprocess`` are skipped with a reason).
"""

from __future__ import annotations

import os

from steps.drivers.base import BookPoint, Driver, Reply, Setup, WireDriver
from steps.errors import StepInputError

AVAILABLE = ("inprocess", "fix", "rest")
PLANNED: tuple[str, ...] = ()  # drivers named before they exist; scenarios do not change
WIRE = ("fix", "rest")
INPROCESS_TAG = "inprocess"
SKIP_REASON = "needs the system in this process (tagged @inprocess); skipped over the wire"
WIRE_TAG = "wire"
WIRE_SKIP_REASON = "needs the FIX wire (tagged @wire: faults on the link); skipped in process"

__all__ = [
    "AVAILABLE",
    "INPROCESS_TAG",
    "PLANNED",
    "SKIP_REASON",
    "WIRE",
    "WIRE_SKIP_REASON",
    "WIRE_TAG",
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
        f"unknown driver {name!r} (available: {', '.join(AVAILABLE)})"
    )


def skip_reason(driver: str | None, tags: object) -> str | None:
    """Why a scenario with ``tags`` cannot run on ``driver`` (None: it can)."""
    names = set(tags)  # type: ignore[call-overload]
    wire = driver_name(driver) in WIRE
    if wire and INPROCESS_TAG in names:
        return SKIP_REASON
    if not wire and WIRE_TAG in names:
        return WIRE_SKIP_REASON
    return None


def make_driver(name: str | None = None) -> Driver:
    n = check_driver(driver_name(name))
    if n == "fix":
        from steps.drivers.fix import FixDriver

        return FixDriver()
    if n == "rest":
        from steps.drivers.rest import RestDriver

        return RestDriver()
    from steps.drivers.inprocess import InProcessDriver

    return InProcessDriver()
