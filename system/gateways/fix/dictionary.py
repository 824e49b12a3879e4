"""The FIX data dictionary (FIX44.toml) and the structural validation it drives.

``Dictionary.validate`` raises ``SessionReject`` with the FIX 4.4 SessionRejectReason of the first
problem found, checking in one pass: tag numbers, empty values, header/body/trailer order, data
formats, enumerations, tags not defined for a strict message type, repeated tags, repeating group
counts, then required tags.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import SessionReject
from system.gateways.fix.reasons import SessionRejectReason as R

try:
    from system.gateways.fix._fields import values_ok as _values_ok
except ImportError:  # built without a compiler: _values_pass in Python
    _values_ok = None  # type: ignore[assignment]

DEFAULT_PATH = Path(__file__).with_name("FIX44.toml")
_BODY, _HEADER, _TRAILER = 0, 1, 2
_MAX_SHAPES = 4096

# Per field of a known shape that has a check: (index, format check, allowed values).
_Plan = list[tuple[int, "Callable[[bytes], bool] | None", "frozenset[bytes] | None"]]
# The same plan for the C check: (index, format code, allowed values); and each NumInGroup's
# (index, expected text).
_CPlan = tuple[tuple[int, int, "frozenset[bytes] | None"], ...]
_Counts = tuple[tuple[int, bytes], ...]
# A known shape: NumInGroup checks by field index (see ``_validate_values``), its value plan, and
# the C check's plan and counts (None: no C check).
_Shape = tuple[dict[int, list[tuple[int, int, int]]], _Plan, "tuple[_CPlan, _Counts] | None"]

_DATE = re.compile(rb"\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\Z")
_TIMESTAMP = re.compile(
    rb"\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])-([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{3}|\.\d{6}|\.\d{9})?\Z"
)
_MONTHYEAR = re.compile(rb"\d{4}(0[1-9]|1[0-2])(\d{2}|w[1-5])?\Z")
_TIMEONLY = re.compile(rb"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{3})?\Z")


def _uint(v: bytes) -> bool:
    return v.isdigit()


def _int(v: bytes) -> bool:
    return v.isdigit() or (v[:1] == b"-" and v[1:].isdigit())


def _decimal(v: bytes) -> bool:
    """-?digits[.digits] or .digits: no sign other than '-', no exponent (FIX 4.4 float)."""
    if v[:1] == b"-":
        v = v[1:]
    whole, _, frac = v.partition(b".")
    if frac:
        return frac.isdigit() and (not whole or whole.isdigit())
    return whole.isdigit()


def _fmt(pattern: re.Pattern[bytes]) -> Callable[[bytes], bool]:
    return lambda v: pattern.match(v) is not None


_FORMATS: dict[str, Callable[[bytes], bool]] = {
    "INT": _int,
    "SEQNUM": _uint,
    "LENGTH": _uint,
    "NUMINGROUP": _uint,
    "FLOAT": _decimal,
    "QTY": _decimal,
    "PRICE": _decimal,
    "PRICEOFFSET": _decimal,
    "AMT": _decimal,
    "PERCENTAGE": _decimal,
    "CHAR": lambda v: len(v) == 1,
    "BOOLEAN": lambda v: v in (b"Y", b"N"),
    "UTCTIMESTAMP": _fmt(_TIMESTAMP),
    "UTCTIMEONLY": _fmt(_TIMEONLY),
    "UTCDATEONLY": _fmt(_DATE),
    "LOCALMKTDATE": _fmt(_DATE),
    "MONTHYEAR": _fmt(_MONTHYEAR),
    "CURRENCY": lambda v: len(v) == 3,
    "COUNTRY": lambda v: len(v) == 2,
}
# Each format's number in _fields.c (its F_ enum); the two must agree, as tests/unit check.
FORMAT_CODES: dict[str, int] = {
    "SEQNUM": 1, "LENGTH": 1, "NUMINGROUP": 1, "INT": 2,
    "FLOAT": 3, "QTY": 3, "PRICE": 3, "PRICEOFFSET": 3, "AMT": 3, "PERCENTAGE": 3,
    "CHAR": 4, "BOOLEAN": 5, "UTCTIMESTAMP": 6, "UTCTIMEONLY": 7, "UTCDATEONLY": 8,
    "LOCALMKTDATE": 8, "MONTHYEAR": 9, "CURRENCY": 10, "COUNTRY": 11,
}  # fmt: skip
_CODE_OF: dict[Callable[[bytes], bool], int] = {_FORMATS[name]: code for name, code in FORMAT_CODES.items()}
_FREE_TEXT = ("STRING", "MULTIPLEVALUESTRING", "EXCHANGE", "DATA")


def _c_plan(plan: _Plan, checks: dict[int, list[tuple[int, int, int]]]) -> tuple[_CPlan, _Counts] | None:
    """A known shape's value plan for ``_fields.values_ok``: one C call per message instead of a
    Python call per checked field (about a tenth of the served path's CPU an order). None when
    the extension is not built or a format has no code."""
    if _values_ok is None:
        return None
    steps: list[tuple[int, int, frozenset[bytes] | None]] = []
    for i, fmt, allowed in plan:
        code = 0 if fmt is None else _CODE_OF.get(fmt)
        if code is None:
            return None
        steps.append((i, code, allowed))
    counts = tuple((i, b"%d" % instances) for pending in checks.values() for _, i, instances in pending)
    return tuple(steps), counts


class DictionaryError(ValueError):
    """The dictionary file itself is malformed."""


@dataclass(frozen=True, slots=True)
class FieldDef:
    tag: int
    name: str
    type: str
    values: frozenset[bytes] | None


@dataclass(frozen=True, slots=True)
class MessageDef:
    msg_type: str
    name: str
    required: tuple[int, ...]
    allowed: frozenset[int] | None  # None: any dictionary field (not strict)


class Dictionary:
    """A FIX version's fields, groups, header, trailer and message definitions."""

    def __init__(self, data: dict[str, Any], source: str = "<data>") -> None:
        try:
            self.begin_string = str(data["begin_string"])
            self.msg_types = frozenset(str(m) for m in data["msg_types"])
            self.fields: dict[int, FieldDef] = {}
            for key, spec in data["fields"].items():
                tag = int(key)
                values = frozenset(str(v).encode() for v in spec[2]) if len(spec) > 2 else None
                ftype = str(spec[1])
                if ftype not in _FORMATS and ftype not in _FREE_TEXT:
                    raise DictionaryError(f"{source}: field {tag} has unknown type {ftype!r}")
                self.fields[tag] = FieldDef(tag, str(spec[0]), ftype, values)
            header, trailer = data["header"], data["trailer"]
            self.header_required = tuple(int(t) for t in header["required"])
            self.header = frozenset(header["required"]) | frozenset(header.get("optional", ()))
            self.trailer = frozenset(trailer["required"]) | frozenset(trailer.get("optional", ()))
            self.groups: dict[int, tuple[int, frozenset[int]]] = {
                int(k): (v[0], frozenset(v)) for k, v in data.get("groups", {}).items()
            }
            self.messages: dict[str, MessageDef] = {}
            for mt, spec in data["messages"].items():
                req = tuple(int(t) for t in spec.get("required", ()))
                opt = tuple(int(t) for t in spec.get("optional", ()))
                allowed = frozenset(req + opt) if spec.get("strict", False) else None
                if allowed is not None:
                    # Members of an allowed group are allowed too.
                    members = {m for g in allowed if g in self.groups for m in self._members(g)}
                    allowed = allowed | members
                self.messages[mt] = MessageDef(mt, str(spec.get("name", mt)), req, allowed)
        except DictionaryError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise DictionaryError(f"{source}: malformed dictionary ({e!r})") from e
        for tag in (*self.header, *self.trailer):
            if tag not in self.fields:
                raise DictionaryError(f"{source}: header/trailer tag {tag} has no [fields] entry")
        self._index()

    def _index(self) -> None:
        # One lookup per field on the hot path: (where, format check, allowed values). Rebuilt when
        # ``fields`` is replaced (a copy with venue tags added), checked by identity per message.
        self._spec_of = self.fields
        # Shapes (MsgType and tag sequence) already validated: order flow repeats a handful of them.
        self._shapes: dict[tuple[str, tuple[int, ...]], _Shape] = {}
        self._spec: dict[int, tuple[int, Callable[[bytes], bool] | None, frozenset[bytes] | None]] = {
            tag: (
                _HEADER if tag in self.header else _TRAILER if tag in self.trailer else _BODY,
                _FORMATS.get(f.type),
                f.values,
            )
            for tag, f in self.fields.items()
        }

    def _members(self, group: int) -> set[int]:
        out: set[int] = set()
        for m in self.groups[group][1]:
            out.add(m)
            if m in self.groups and m != group:
                out |= self._members(m)
        return out

    # -- validation ----------------------------------------------------------------------------------
    def validate(self, msg: FixMessage) -> None:
        """Raise ``SessionReject`` for the first structural problem of ``msg``, or return."""
        mt = msg.msg_type
        if mt not in self.msg_types:
            raise SessionReject(R.INVALID_MSG_TYPE)
        if self._spec_of is not self.fields:
            self._index()
        fields = msg.fields
        key = (mt, tuple([t for t, _ in fields]))
        known = self._shapes.get(key)
        if known is not None:
            checks, plan, cplan = known
            ok = None if cplan is None else _values_ok(fields, *cplan)
            if ok is None:
                ok = self._values_pass(fields, checks, plan)
            if not ok:
                self._validate_values(fields, checks)  # raises the first problem in field order
            return
        record: list[tuple[int, int, int, int]] = []
        self._validate_full(mt, fields, record)
        if len(self._shapes) < _MAX_SHAPES:
            shape: dict[int, list[tuple[int, int, int]]] = {}
            for at, count_tag, count_index, instances in record:
                shape.setdefault(at, []).append((count_tag, count_index, instances))
            spec = self._spec
            plan = [(i, spec[t][1], spec[t][2]) for i, (t, _) in enumerate(fields)]
            plan = [p for p in plan if p[1] is not None or p[2] is not None]
            self._shapes[key] = (shape, plan, _c_plan(plan, shape))

    @staticmethod
    def _values_pass(
        fields: list[tuple[int, bytes]], checks: dict[int, list[tuple[int, int, int]]], plan: _Plan
    ) -> bool:
        """Whether every value of a known shape is good: no empty value, each format and enum
        right, each NumInGroup matching. Only the fields that have a check are visited; on a
        failure ``_validate_values`` finds which problem comes first."""
        values = [v for _, v in fields]
        if not all(values):
            return False
        for i, fmt, allowed in plan:
            v = values[i]
            if fmt is not None and not fmt(v):
                return False
            if allowed is not None and v not in allowed:
                return False
        for pending in checks.values():
            for _, index, instances in pending:
                if values[index] != b"%d" % instances:
                    return False
        return True

    def _validate_values(
        self, fields: list[tuple[int, bytes]], checks: dict[int, list[tuple[int, int, int]]]
    ) -> None:
        """A message shaped like one already validated (same MsgType, same tags in the same order):
        its structure is known good, so only values are checked, plus each NumInGroup against the
        instance count its shape implies, at the point the full pass would check it."""
        spec = self._spec
        for i, (tag, value) in enumerate(fields):
            if checks and i in checks:
                self._check_counts(fields, checks[i])
            if not value:
                raise SessionReject(R.TAG_SPECIFIED_WITHOUT_A_VALUE, tag)
            _, fmt, values = spec[tag]
            if fmt is not None and not fmt(value):
                raise SessionReject(R.INCORRECT_DATA_FORMAT, tag)
            if values is not None and value not in values:
                raise SessionReject(R.VALUE_IS_INCORRECT, tag)
        if checks and len(fields) in checks:
            self._check_counts(fields, checks[len(fields)])

    @staticmethod
    def _check_counts(fields: list[tuple[int, bytes]], pending: list[tuple[int, int, int]]) -> None:
        for count_tag, index, instances in pending:
            if int(fields[index][1]) != instances:
                raise SessionReject(R.INCORRECT_NUM_IN_GROUP_COUNT, count_tag)

    def _validate_full(
        self, mt: str, fields: list[tuple[int, bytes]], record: list[tuple[int, int, int, int]]
    ) -> None:
        mdef = self.messages.get(mt)
        allowed = mdef.allowed if mdef is not None else None
        spec = self._spec
        groups = self.groups
        seen: set[int] = set()
        in_body = in_trailer = False
        i = 0
        n = len(fields)
        while i < n:
            tag, value = fields[i]
            sp = spec.get(tag)
            if sp is None:
                raise SessionReject(R.INVALID_TAG_NUMBER, tag)
            if not value:
                raise SessionReject(R.TAG_SPECIFIED_WITHOUT_A_VALUE, tag)
            where, fmt, values = sp
            if where == _HEADER:
                if in_body or in_trailer:
                    raise SessionReject(R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag)
            elif where == _TRAILER:
                in_trailer = True
            else:
                if in_trailer:
                    raise SessionReject(R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag)
                in_body = True
                if allowed is not None and tag not in allowed:
                    raise SessionReject(R.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, tag)
            if fmt is not None and not fmt(value):
                raise SessionReject(R.INCORRECT_DATA_FORMAT, tag)
            if values is not None and value not in values:
                raise SessionReject(R.VALUE_IS_INCORRECT, tag)
            if tag in seen:
                raise SessionReject(R.TAG_APPEARS_MORE_THAN_ONCE, tag)
            seen.add(tag)
            i += 1
            if tag in groups:
                i = self._consume_group(fields, i, tag, int(value), record)
        if mdef is not None:
            for tag in mdef.required:
                if tag not in seen:
                    raise SessionReject(R.REQUIRED_TAG_MISSING, tag)
        for tag in self.header_required:
            if tag not in seen:
                raise SessionReject(R.REQUIRED_TAG_MISSING, tag)

    def _consume_group(
        self,
        fields: list[tuple[int, bytes]],
        i: int,
        count_tag: int,
        count: int,
        record: list[tuple[int, int, int, int]],
    ) -> int:
        """Walk the instances of a repeating group starting at ``fields[i]``; return the index after
        it. Each instance starts with the delimiter tag; a tag outside the group ends the group.
        ``record`` gets (index where the count is checked, count tag, its index, instances)."""
        start = i
        delimiter, members = self.groups[count_tag]
        instances = 0
        seen: set[int] = set()
        n = len(fields)
        while i < n:
            tag, value = fields[i]
            if tag == delimiter:
                instances += 1
                seen = set()
            elif tag not in members or instances == 0:
                break
            elif tag in seen:
                raise SessionReject(R.REPEATING_GROUP_FIELDS_OUT_OF_ORDER, tag)
            sp = self._spec.get(tag)
            if sp is None:
                raise SessionReject(R.INVALID_TAG_NUMBER, tag)
            if not value:
                raise SessionReject(R.TAG_SPECIFIED_WITHOUT_A_VALUE, tag)
            _, fmt, values = sp
            if fmt is not None and not fmt(value):
                raise SessionReject(R.INCORRECT_DATA_FORMAT, tag)
            if values is not None and value not in values:
                raise SessionReject(R.VALUE_IS_INCORRECT, tag)
            seen.add(tag)
            i += 1
            if tag in self.groups:
                i = self._consume_group(fields, i, tag, int(value), record)
        if instances != count:
            raise SessionReject(R.INCORRECT_NUM_IN_GROUP_COUNT, count_tag)
        record.append((i, count_tag, start - 1, instances))
        return i

    def with_fields(self, extra: dict[int, tuple[str, str]]) -> Dictionary:
        """A copy that also knows ``extra`` tags (venue-specific fields), as {tag: (name, type)}."""
        clone = object.__new__(Dictionary)
        clone.__dict__.update(self.__dict__)
        clone.fields = {**self.fields, **{t: FieldDef(t, n, ty, None) for t, (n, ty) in extra.items()}}
        clone._index()
        return clone


def load_dictionary(path: Path | None = None) -> Dictionary:
    """The dictionary in ``path`` (the bundled FIX 4.4 one by default)."""
    if path is None:
        return _default()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise DictionaryError(f"{path}: {e}") from e
    return Dictionary(data, str(path))


@cache
def _default() -> Dictionary:
    return Dictionary(tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8")), str(DEFAULT_PATH))
