"""A parsed FIX message: the ordered (tag, value) pairs as they came off the wire.

Values stay ``bytes`` until someone asks for them: the gateway's hot path reads a handful of tags
and never decodes the rest.
"""

from __future__ import annotations

from collections.abc import Iterable


class FixMessage:
    """An ordered list of ``(tag, value-bytes)``, header, body and trailer alike.

    ``get`` returns the first occurrence of a tag; ``get_all`` every occurrence in order (the
    members of a repeating group, e.g. all PartyIDs 448).
    """

    __slots__ = ("_index", "fields", "msg_type")

    def __init__(self, fields: list[tuple[int, bytes]], msg_type: str | None = None) -> None:
        self.fields = fields
        # The first occurrence wins (built from the end so earlier ones overwrite later ones).
        index = dict(reversed(fields))
        self._index = index
        if msg_type is None:
            mt = index.get(35)
            msg_type = mt.decode("latin-1") if mt is not None else ""
        self.msg_type = msg_type

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, str | bytes | int]]) -> FixMessage:
        """A message from Python values (str and int are encoded as FIX text)."""
        return cls([(t, v if isinstance(v, bytes) else str(v).encode("latin-1")) for t, v in pairs])

    def get(self, tag: int) -> bytes | None:
        return self._index.get(tag)

    def get_str(self, tag: int) -> str | None:
        v = self._index.get(tag)
        return None if v is None else v.decode("latin-1")

    def get_int(self, tag: int) -> int | None:
        """The tag as an int; None when absent. Raises ValueError on a non-integer value."""
        v = self._index.get(tag)
        return None if v is None else int(v)

    def get_all(self, tag: int) -> list[bytes]:
        return [v for t, v in self.fields if t == tag]

    def __contains__(self, tag: object) -> bool:
        return tag in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixMessage) and other.fields == self.fields

    def __hash__(self) -> int:
        return hash(tuple(self.fields))

    def __repr__(self) -> str:
        body = "|".join(f"{t}={v.decode('latin-1')}" for t, v in self.fields)
        return f"FixMessage({body})"
