"""The live archive: a log subscriber keeping relational tables (orders, executions, trades,
positions by trade date, account events) current as the log grows. See docs/operators.md.

``system.archive.fold`` is the pure part; ``system.archive.postgres`` writes it to PostgreSQL
(import it only where psycopg is installed).
"""

from system.archive.fold import ArchiveFold, Changes, Order, TradeDate

__all__ = ["ArchiveFold", "Changes", "Order", "TradeDate"]
