"""What is wrong with a set of .feature files before any runner reads them, so both runners see the
same scenarios: Gherkin the parser refuses (with its line), two scenarios of one feature under one
name (pytest-bdd keys scenarios by name and silently keeps the last: a failing one could vanish),
and a feature with no scenario at all (a misspelt ``Scenario:`` reads as description)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gherkin.errors import CompositeParserException, ParserError
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner


def feature_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every .feature file named or under a named folder."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(p.rglob("*.feature"))
        elif p.suffix == ".feature" and p.is_file():
            out.append(p)
    return out


def _scenarios(children: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for c in children:
        if "scenario" in c:
            yield c["scenario"]
        elif "rule" in c:
            yield from _scenarios(c["rule"].get("children", []))


def problems(path: Path) -> list[str]:
    """What is wrong with one feature file, each as ``FILE:LINE: what`` (none: it is fine)."""
    try:
        doc: Any = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
    except (CompositeParserException, ParserError) as e:
        errors = getattr(e, "errors", None) or [e]
        return [f"{path}:{_line(err)}: not valid Gherkin: {_text(err)}" for err in errors]
    except (OSError, UnicodeDecodeError) as e:
        return [f"{path}: cannot be read ({e})"]
    feature = doc.get("feature")
    if feature is None:
        return [f"{path}: no Feature in it"]
    found = list(_scenarios(feature.get("children", [])))
    if not found:
        line = feature["location"]["line"]
        return [f"{path}:{line}: no Scenario in it (a misspelt 'Scenario:' reads as text)"]
    out: list[str] = []
    first: dict[str, int] = {}
    for sc in found:
        name, line = sc["name"], sc["location"]["line"]
        if name in first:
            out.append(
                f"{path}:{line}: a second scenario named {name!r} (the first is at line {first[name]}); "
                "the pytest runner would keep one of them: give each its own name"
            )
        else:
            first[name] = line
    return out


def check(paths: Iterable[str | Path]) -> list[str]:
    """The problems of every feature file under ``paths``."""
    return [p for f in feature_files(paths) for p in problems(f)]


def _line(err: Any) -> int | str:
    loc = getattr(err, "location", None) or {}
    return loc.get("line", "?") if isinstance(loc, dict) else "?"


def _text(err: Any) -> str:
    # gherkin's messages start with "(line:column): "; the line is already said.
    text = str(err)
    return text.split("): ", 1)[1] if text.startswith("(") and "): " in text else text
