"""Reading a mock's TOML profile: every bad value is a ``MockError`` naming the mock, the field
and the value (shared by the wallet and onboarding mocks)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from mocks.base import MockError

__all__ = ["Fields"]


class Fields:
    def __init__(self, mock: str, where: str, table: Any) -> None:
        self.mock, self.where = mock, where
        if not isinstance(table, dict):
            self.fail("", table, "is not a table")
        self.table: dict[str, Any] = table

    def fail(self, field: str, value: Any, why: str) -> NoReturn:
        name = f"{self.where}.{field}" if self.where and field else (field or self.where)
        raise MockError(f"{self.mock} mock: {name} = {value!r} {why}")

    def text(self, field: str, default: str | None = None) -> str:
        v = self.table.get(field, default)
        if not isinstance(v, str) or (default is None and not v):
            self.fail(field, v, "must be a non-empty string")
        return v

    def integer(self, field: str, default: int | None = None, *, low: int = 1) -> int:
        v = self.table.get(field, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            self.fail(field, v, f"must be an integer >= {low}")
        return v

    def decimal(self, field: str, default: str | None = None) -> Decimal:
        v = self.table.get(field, default)
        d: Decimal | None = None
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            try:
                d = Decimal(str(v))
            except InvalidOperation:
                d = None
        if d is None or not d.is_finite() or d < 0:
            self.fail(field, v, "must be a non-negative decimal string")
        return d

    def texts(self, field: str) -> tuple[str, ...]:
        v = self.table.get(field, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            self.fail(field, v, "must be an array of non-empty strings")
        return tuple(v)

    def tables(self, field: str) -> list[Any]:
        v = self.table.get(field, [])
        if not isinstance(v, list) or not v:
            self.fail(field, v, f"must be a non-empty array of tables [[{field}]]")
        return v
