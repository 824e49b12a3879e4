"""The step library. Importing this package registers every step once (see ``steps.registry``)."""

from steps.library import (
    audit,
    book,
    calendar,
    clock,
    corrections,
    faults,
    feed,
    log,
    market,
    orders,
    replay,
    risk,
    sim,
    trades,
)

__all__ = [
    "audit",
    "book",
    "calendar",
    "clock",
    "corrections",
    "faults",
    "feed",
    "log",
    "market",
    "orders",
    "replay",
    "risk",
    "sim",
    "trades",
]
