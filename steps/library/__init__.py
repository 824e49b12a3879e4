"""The step library. Importing this package registers every step once (see ``steps.registry``)."""

from steps.library import book, clock, log, market, orders, replay, risk, sim, trades

__all__ = ["book", "clock", "log", "market", "orders", "replay", "risk", "sim", "trades"]
