"""Reading a mock's TOML profile: typed fields with defaults, and errors naming mock, field, value.

Every mock validates its own profile with a ``Fields`` reader, so a bad value reaches the user as
one ``MockError`` line (``exchange: fix.sessions[0].accounts: 5 is not a list of strings``).
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from mocks.base import MockError
from system.clock import from_datetime

__all__ = ["Fields", "parse_instant", "read_toml"]


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file as a dict; ``MockError`` naming ``what`` and the file when it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise MockError(f"{what} {str(path)!r}: cannot read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise MockError(f"{what} {str(path)!r}: not valid TOML ({e})") from None


def parse_instant(value: object, where: str) -> int:
    """Nanoseconds since the epoch from an ISO-8601 text with an offset, or an int of ns."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):  # TOML offset date-times arrive parsed
        if value.tzinfo is None:
            raise MockError(f"{where}: {value.isoformat()!r} has no UTC offset")
        return from_datetime(value)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise MockError(f"{where}: {value!r} is not an ISO-8601 instant") from None
        if dt.tzinfo is None:
            raise MockError(f"{where}: {value!r} has no UTC offset")
        return from_datetime(dt)
    raise MockError(f"{where}: {value!r} is not an instant (ISO-8601 text or ns)")


class Fields:
    """One table of a profile, read field by field; ``where`` prefixes every error."""

    def __init__(self, table: object, where: str) -> None:
        if not isinstance(table, dict):
            raise MockError(f"{where}: {table!r} is not a table")
        self.t: dict[str, Any] = table
        self.where = where

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def sub(self, key: str) -> Fields:
        return Fields(self.t.get(key, {}), self._at(key))

    def text(self, key: str, default: str | None = None) -> str:
        v = self.t.get(key, default)
        if not isinstance(v, str) or not v:
            raise MockError(f"{self._at(key)}: {v!r} is not a non-empty string")
        return v

    def integer(self, key: str, default: int, *, low: int | None = None, high: int | None = None) -> int:
        v = self.t.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool):
            raise MockError(f"{self._at(key)}: {v!r} is not an integer")
        if (low is not None and v < low) or (high is not None and v > high):
            raise MockError(f"{self._at(key)}: {v} is outside {low}..{high}")
        return v

    def number(
        self, key: str, default: float, *, low: float | None = None, high: float | None = None
    ) -> float:
        v = self.t.get(key, default)
        if not isinstance(v, int | float) or isinstance(v, bool):
            raise MockError(f"{self._at(key)}: {v!r} is not a number")
        if (low is not None and v < low) or (high is not None and v > high):
            raise MockError(f"{self._at(key)}: {v} is outside {low}..{high}")
        return float(v)

    def flag(self, key: str, default: bool) -> bool:
        v = self.t.get(key, default)
        if not isinstance(v, bool):
            raise MockError(f"{self._at(key)}: {v!r} is not true or false")
        return v

    def texts(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        v = self.t.get(key, list(default))
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise MockError(f"{self._at(key)}: {v!r} is not a list of strings")
        return tuple(v)

    def tables(self, key: str) -> list[Fields]:
        v = self.t.get(key, [])
        if not isinstance(v, list):
            raise MockError(f"{self._at(key)}: {v!r} is not a list of tables")
        return [Fields(x, f"{self._at(key)}[{i}]") for i, x in enumerate(v)]

    def instant(self, key: str) -> int | None:
        v = self.t.get(key)
        return None if v is None else parse_instant(v, self._at(key))

    def unknown(self, known: set[str]) -> None:
        """Refuse keys the mock does not know (a typo must not pass silently)."""
        extra = sorted(set(self.t) - known)
        if extra:
            raise MockError(f"{self._at(extra[0])}: unknown key (known: {', '.join(sorted(known))})")
