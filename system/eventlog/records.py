"""Typed records that go into the log: events (past tense) and commands (imperative).

Every record class is a frozen msgspec Struct, registered under a stable name and a schema
version when it is defined. The name and version travel in the envelope, so a log written by an
older release can still be read: an upcaster turns an old payload into the current shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import msgspec

__all__ = [
    "Command",
    "Event",
    "Record",
    "RecordType",
    "UnknownRecordType",
    "lookup",
    "record_types",
    "register_upcaster",
]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownRecordType(LookupError):
    """A log names a record type (or version) that no loaded module defines."""


class RecordType:
    """What the registry knows of one record class: how to decode it and how old payloads upgrade."""

    __slots__ = ("_decoder", "cls", "kind", "name", "upcasters", "version")

    def __init__(self, cls: type[Record], name: str, version: int, kind: str) -> None:
        self.cls = cls
        self.name = name
        self.version = version
        self.kind = kind
        # Built on first use: msgspec cannot build a decoder while the class is being created.
        self._decoder: msgspec.msgpack.Decoder[Any] | None = None
        # upcasters[v] turns a version-v payload into a version v+1 payload.
        self.upcasters: dict[int, Upcaster] = {}

    def decode(self, payload: bytes, version: int) -> Record:
        if version == self.version:
            dec = self._decoder
            if dec is None:
                dec = self._decoder = msgspec.msgpack.Decoder(self.cls)
            return dec.decode(payload)  # type: ignore[no-any-return]
        if version > self.version:
            raise UnknownRecordType(
                f"{self.name} v{version} is newer than this code knows (v{self.version})"
            )
        data: dict[str, Any] = msgspec.msgpack.decode(payload)
        for v in range(version, self.version):
            up = self.upcasters.get(v)
            if up is None:
                raise UnknownRecordType(f"no upcaster for {self.name} v{v} -> v{v + 1}")
            data = up(data)
        return msgspec.convert(data, self.cls)


_REGISTRY: dict[str, RecordType] = {}


class Record(msgspec.Struct, frozen=True):
    """Base of everything stored in the log.

    Subclasses set ``name`` (defaults to the class name) and ``version`` (defaults to 1) as
    class variables; ``stream()`` says which stream the record belongs to.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "record"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        name = cls.__dict__.get("name", cls.__name__)
        cls.name = name
        existing = _REGISTRY.get(name)
        if existing is not None and existing.cls.__qualname__ != cls.__qualname__:
            raise TypeError(f"record name {name!r} is already used by {existing.cls.__module__}")
        _REGISTRY[name] = RecordType(cls, name, cls.version, cls.kind)

    def stream(self) -> str:
        """The stream this record is appended to (for example ``book/XTKS:7203``)."""
        raise NotImplementedError(f"{type(self).__name__} does not name its stream")


class Event(Record, frozen=True):
    """Something that happened. Names are past tense: ``OrderAccepted``, ``TradeExecuted``."""

    abstract: ClassVar[bool] = True
    kind: ClassVar[str] = "event"


class Command(Record, frozen=True):
    """Something asked of the system. Names are imperative: ``SubmitOrder``, ``CancelOrder``.

    Commands are logged as inputs before any handler sees them, so a day can be re-executed.
    """

    abstract: ClassVar[bool] = True
    kind: ClassVar[str] = "command"

    def stream(self) -> str:
        return "input"


# The composition root names every module that defines a record a build can write. The registry
# imports it the first time it is asked for all types or for a name it does not know, so decoding
# a log never depends on what the process happened to import before.
CATALOGUE = "system.bootstrap"


def _load_catalogue() -> None:
    import importlib

    importlib.import_module(CATALOGUE)


def lookup(name: str) -> RecordType:
    rt = _REGISTRY.get(name)
    if rt is None:
        _load_catalogue()
        rt = _REGISTRY.get(name)
        if rt is None:
            raise UnknownRecordType(f"unknown record type {name!r}")
    return rt


def record_types() -> dict[str, RecordType]:
    """All record types of the build by name (a copy, sorted by name)."""
    _load_catalogue()
    return dict(sorted(_REGISTRY.items()))


def register_upcaster(name: str, from_version: int, fn: Upcaster) -> None:
    """Register ``fn`` to turn a ``name`` payload of ``from_version`` into ``from_version + 1``."""
    lookup(name).upcasters[from_version] = fn
