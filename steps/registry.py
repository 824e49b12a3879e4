"""The step registry: every Gherkin step defined once, framework-neutral.

A step is a keyword (given/when/then, or ``step`` for any), a pattern with typed fields
(``"{account:Word} {side:Side} {qty:Word} {ref:Ref} at {price:Word}"``), an example, and a function
``fn(ctx, **fields[, table=..., text=...])``. The behave and pytest-bdd adapters bind the same
registry; ``chronex steps`` prints it. Fields are matched loosely (a whole word) and converted
strictly inside the step, so a bad value fails the step with a message naming the value instead of
leaving the step "undefined".
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from steps.errors import StepFailed, StepInputError


@dataclass(frozen=True)
class FieldType:
    regex: str
    meaning: str


# What each field type matches and means (for the catalogue). Conversion happens in the step.
TYPES: dict[str, FieldType] = {
    "Word": FieldType(r"\S+", "one word"),
    "Text": FieldType(r".+?", "free text"),
    "Ref": FieldType(r"[A-Za-z0-9_\-]+:[A-Za-z0-9_./\-]+", "an instrument, VENUE:SYMBOL (XTKS:7203)"),
    "Venue": FieldType(r"[A-Za-z][A-Za-z0-9_\-]*", "a venue code (XTKS, CME, FX-JP, CRYPTO)"),
    "Side": FieldType(r"buys|sells", "buys or sells"),
    "Price": FieldType(r"\S+", "a decimal price in the instrument's units (2500.5)"),
    "Qty": FieldType(r"\S+", "a decimal quantity (100)"),
    "Int": FieldType(r"\S+", "a whole number"),
    "Name": FieldType(r"[A-Za-z_][A-Za-z0-9_\-]*", "a name given to an order or account"),
    "Date": FieldType(r"\S+", "a date, YYYY-MM-DD"),
    "Time": FieldType(r".+?", "a time: HH:MM[:SS] in the scenario's zone, or with a zone"),
    "Zone": FieldType(r"[A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)*", "an IANA time zone (Asia/Tokyo)"),
    "Duration": FieldType(r".+?", "a duration: 5 minutes, 90 seconds, 1 hour, 250 ms"),
    "Phase": FieldType(r"[A-Za-z_ \-]+?", "a trading phase (CONTINUOUS, PRE_OPEN, lunch break...)"),
    "Reason": FieldType(r"[A-Z_]+", "a reason code (OFF_TICK)"),
    "Spec": FieldType(r".+", "order options: IOC, FOK, GTC, GTD until T, stop P, display Q, as NAME..."),
}

_FIELD = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass
class StepDef:
    keyword: str  # given | when | then | step
    pattern: str
    func: Callable[..., Any]
    example: str
    doc: str
    regex: re.Pattern[str]
    fields: list[tuple[str, str]]  # (name, type)
    wants_table: bool
    wants_text: bool
    area: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def where(self) -> str:
        code = self.func.__code__
        return f"{code.co_filename}:{code.co_firstlineno}"

    def match(self, text: str) -> dict[str, str] | None:
        m = self.regex.fullmatch(text)
        return None if m is None else m.groupdict()


REGISTRY: list[StepDef] = []


def compile_pattern(pattern: str) -> tuple[str, list[tuple[str, str]]]:
    """The anchored regex of ``pattern`` and its (name, type) fields."""
    out: list[str] = []
    fields: list[tuple[str, str]] = []
    pos = 0
    for m in _FIELD.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        name, kind = m[1], m[2] or "Text"
        if kind not in TYPES:
            raise ValueError(f"step pattern {pattern!r}: unknown field type {kind!r}")
        fields.append((name, kind))
        out.append(f"(?P<{name}>{TYPES[kind].regex})")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return "^" + "".join(out) + "$", fields


def _define(keyword: str, pattern: str, example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        regex, fields = compile_pattern(pattern)
        params = inspect.signature(fn).parameters
        doc = inspect.getdoc(fn) or ""
        area = fn.__module__.rsplit(".", 1)[-1]
        REGISTRY.append(
            StepDef(
                keyword,
                pattern,
                fn,
                example,
                doc,
                re.compile(regex),
                fields,
                "table" in params,
                "text" in params,
                area,
            )
        )
        return fn

    return deco


def given(pattern: str, example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _define("given", pattern, example)


def when(pattern: str, example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _define("when", pattern, example)


def then(pattern: str, example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _define("then", pattern, example)


def step(pattern: str, example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A step usable after any keyword (setting up with Given or acting with When)."""
    return _define("step", pattern, example)


def load() -> list[StepDef]:
    """Import the step library (registering every step once) and return the registry."""
    import steps.library  # noqa: F401  (importing registers)

    return REGISTRY


def find(keyword: str, text: str) -> list[tuple[StepDef, dict[str, str]]]:
    """Every step definition matching ``text`` under ``keyword``."""
    out = []
    for sd in load():
        if sd.keyword not in (keyword, "step"):
            continue
        args = sd.match(text)
        if args is not None:
            out.append((sd, args))
    return out


def run_step(
    sd: StepDef,
    ctx: Any,
    keyword: str,
    text: str,
    args: dict[str, str],
    table: list[list[str]] | None = None,
    docstring: str | None = None,
) -> None:
    """Run one step; any failure comes out as ``StepFailed`` with a message meant for people.

    The message names the step; bad values and failed expectations explain themselves; anything
    else (a bug) keeps its type and message. On failure the scenario's log is kept and its place
    said.
    """
    from steps.tables import Table

    kw: dict[str, Any] = dict(args)
    if sd.wants_table:
        kw["table"] = Table.from_rows(table) if table else None
    if sd.wants_text:
        kw["text"] = docstring
    line = f"{keyword.strip().capitalize()} {text}"
    try:
        _track_when_block(ctx, keyword)
        sd.func(ctx, **kw)
    except StepInputError as e:
        raise StepFailed(_finish(ctx, f'Step "{line}" has a bad argument: {e}')) from None
    except AssertionError as e:
        raise StepFailed(_finish(ctx, _with_events(ctx, f'Step "{line}" failed:\n{e}', args))) from None
    except StepFailed:
        raise
    except Exception as e:  # a bug or an unavailable feature: still one clear message
        raise StepFailed(_finish(ctx, f'Step "{line}" raised {type(e).__name__}: {e}')) from e


def _with_events(ctx: Any, message: str, args: dict[str, str]) -> str:
    """A failed expectation with the last events of the instrument or account the step names,
    when its own message did not list them (docs/qa.md promises them for every failing Then)."""
    if "events of " in message or "(no events)" in message or not hasattr(ctx, "events"):
        return message
    from steps import describe

    instruments = getattr(ctx, "instruments", {})
    inst = next((v for v in args.values() if v in instruments), None)
    account = args.get("account") if inst is None else None
    try:
        tail = describe.recent(
            ctx.events(), instruments, ctx.zone(), ctx.name_of, instrument=inst, account=account
        )
    except Exception:  # the events cannot be had (a driver gone): the message stands alone
        return message
    return f"{message}\n{tail}"


def _track_when_block(ctx: Any, keyword: str) -> None:
    """The first When step after a Given or Then starts a new block: trade assertions look only at
    what happened from there on (the adapters pass And/But steps with their parent's keyword)."""
    if not hasattr(ctx, "begin_action"):
        return
    is_when = keyword.strip().lower() == "when"
    if is_when and not ctx.in_when:
        ctx.begin_action()
    ctx.in_when = is_when


def _finish(ctx: Any, message: str) -> str:
    kept = ctx.keep_log() if hasattr(ctx, "keep_log") else None
    if kept:
        message += f"\nScenario log kept at {kept}  (inspect: chronex log show {kept})"
    return message
