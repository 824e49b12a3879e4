"""Drivers: how steps reach the system. Pick one with ``--driver NAME`` or ``CHRONEX_DRIVER``.

``inprocess`` holds the system in this process; ``fix`` reaches ``chronex serve`` over FIX and
its admin channel, ``rest`` over the REST gateway and the admin channel (wire drivers: scenarios
tagged ``@inprocess`` are skipped with a reason). ``fix`` with a sessions file that marks its
target external (``CHRONEX_EXTERNAL_SESSIONS``, ``chronex run --sessions``) is the external driver
(``external.py``), and ``rest`` with a target URL (``CHRONEX_REST_TARGET``, ``chronex run --driver
rest --target URL``) its REST twin (``resttarget.py``): an outside system read only through what it
publishes, scenarios tagged ``@reference-only`` skipped.
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

from steps.drivers.base import BookPoint, Driver, Reply, Setup, WireDriver
from steps.errors import StepInputError

AVAILABLE = ("inprocess", "fix", "rest")
PLANNED: tuple[str, ...] = ()  # drivers named before they exist; scenarios do not change
WIRE = ("fix", "rest")
INPROCESS_TAG = "inprocess"
SKIP_REASON = "needs the system in this process (tagged @inprocess); skipped over the wire"
WIRE_TAG = "wire"
WIRE_SKIP_REASON = (
    "needs the FIX wire (tagged @wire: faults on the FIX link); skipped on every driver but fix"
)
REFERENCE_TAG = "reference-only"
REFERENCE_SKIP_REASON = (
    "needs Chronex's own state (tagged @reference-only); skipped against an external target"
)
CONTROL_TAG = "needs-control"
CONTROL_SKIP_REASON = (
    "sets the target up or drives it (a calendar, risk limits, a phase, a reference price; tagged "
    "@needs-control); skipped against an external target without a control channel"
)
EVENTS_TAG = "needs-events"
EVENTS_SKIP_REASON = (
    "reads what a FIX order-entry session does not publish (phases, stop triggers, iceberg refills, "
    "auction results; tagged @needs-events); skipped against an external FIX target (a REST one "
    "publishes them)"
)
ACCOUNT_TAG = "account-in-request"
ACCOUNT_SKIP_REASON = (
    "names the account in the request (tagged @account-in-request); a REST key acts for its own "
    "accounts: skipped against an external REST target"
)

__all__ = [
    "ACCOUNT_SKIP_REASON",
    "ACCOUNT_TAG",
    "AVAILABLE",
    "CONTROL_SKIP_REASON",
    "CONTROL_TAG",
    "EVENTS_SKIP_REASON",
    "EVENTS_TAG",
    "INPROCESS_TAG",
    "PLANNED",
    "REFERENCE_SKIP_REASON",
    "REFERENCE_TAG",
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
    "is_external",
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
    raise StepInputError(f"unknown driver {name!r} (available: {', '.join(AVAILABLE)})")


def skip_reason(driver: str | None, tags: object) -> str | None:
    """Why a scenario with ``tags`` cannot run on ``driver`` (None: it can)."""
    names = set(tags)  # type: ignore[call-overload]
    wire = driver_name(driver) in WIRE
    if REFERENCE_TAG in names and is_external(driver):
        return REFERENCE_SKIP_REASON
    if is_external(driver):
        rest = driver_name(driver) == "rest"
        if CONTROL_TAG in names and not _has_control():
            return CONTROL_SKIP_REASON
        if EVENTS_TAG in names and not rest:
            return EVENTS_SKIP_REASON
        if ACCOUNT_TAG in names and rest:
            return ACCOUNT_SKIP_REASON
    if wire and INPROCESS_TAG in names:
        return SKIP_REASON
    if WIRE_TAG in names and driver_name(driver) != "fix":
        return WIRE_SKIP_REASON  # the REST driver's server has no FIX link to fault
    return None


def is_external(driver: str | None = None) -> bool:
    """Whether ``driver`` reaches an outside system (a FIX sessions file or a REST target URL)."""
    n = driver_name(driver)
    if n == "fix":
        return bool(os.environ.get("CHRONEX_EXTERNAL_SESSIONS"))
    return n == "rest" and bool(
        os.environ.get("CHRONEX_REST_TARGET") or os.environ.get("CHRONEX_REST_TARGET_FILE")
    )


def _has_control() -> bool:
    """Whether the external target's file names a control channel (a Chronex mock's)."""
    path = os.environ.get("CHRONEX_EXTERNAL_SESSIONS") or os.environ.get("CHRONEX_REST_TARGET_FILE")
    return bool(path) and _file_has_control(path)


@functools.lru_cache(maxsize=8)
def _file_has_control(path: str) -> bool:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # the driver reports a bad file when it starts
    target = data.get("target")
    return isinstance(target, dict) and "control" in target


def make_driver(name: str | None = None) -> Driver:
    n = check_driver(driver_name(name))
    if n == "rest" and is_external(n):
        from steps.drivers.resttarget import RestTargetDriver

        return RestTargetDriver()
    if n == "fix" and os.environ.get("CHRONEX_EXTERNAL_SESSIONS"):
        from steps.drivers.external import ExternalDriver

        return ExternalDriver()
    if n == "fix":
        from steps.drivers.fix import FixDriver

        return FixDriver()
    if n == "rest":
        from steps.drivers.rest import RestDriver

        return RestDriver()
    from steps.drivers.inprocess import InProcessDriver

    return InProcessDriver()
