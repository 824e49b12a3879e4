"""``chronex config check FILE [--kind KIND]``: validate a configuration file before a run uses it.

Kinds: ``run`` (a ``[risk]`` and/or ``[pricing]`` file, as ``sim --config`` takes), ``risk`` and
``pricing`` (such a file that must hold that table), ``simulator`` (a venue profile, as
``sim --venue FILE`` takes), ``venue`` (a calendar venue file) and ``fix-sessions`` (the FIX
sessions ``serve --sessions FILE`` takes) and ``api-keys`` (the REST keys ``serve --api-keys``
takes). Without ``--kind`` the file's
top-level tables say which. Exit 0 when the file is good, 2 with the file, key and value named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from chronex.errors import BadInput

config_app = typer.Typer(help="Check configuration files.", no_args_is_help=True)
KINDS = ("run", "risk", "pricing", "hedging", "simulator", "venue", "fix-sessions", "api-keys", "rest-target")
_RUN_TABLES = ("risk", "pricing", "hedging")


def detect(data: dict[str, Any], file: str) -> str:
    """The kind of a parsed TOML file, from its top-level tables."""
    if "profile" in data:
        return "simulator"
    if "venue" in data and "timetable" in data:
        return "venue"
    if any(t in data for t in _RUN_TABLES):
        return "run"
    if "session" in data:
        return "fix-sessions"
    if "key" in data:
        return "api-keys"
    if "target" in data:
        return "rest-target"
    tables = ", ".join(sorted(data)) or "none"
    raise BadInput(
        f"{file}: cannot tell what this configures (top-level tables: {tables}); a run file has "
        "[risk], [pricing] and/or [hedging], a simulator profile [profile], a venue file [venue] and "
        "[[timetable]], a FIX sessions file [[session]], a REST keys file [[key]], a REST target "
        "[target] (or give --kind)"
    )


def _check_run(data: dict[str, Any], file: str, kind: str) -> dict[str, Any]:
    from system.hedging import parse_hedging
    from system.pricing import parse_pricing
    from system.pricing.tomlfile import ConfigError
    from system.risk import parse_risk

    if kind in _RUN_TABLES and kind not in data:
        raise BadInput(f"{file}: no [{kind}] table")
    unknown = sorted(k for k in data if k not in _RUN_TABLES)
    if unknown:
        raise BadInput(
            f"{file}: {unknown[0]}: unknown table (a run file has [risk], [pricing] and/or [hedging])"
        )
    found: dict[str, Any] = {}
    try:
        parsers: tuple[tuple[str, Any], ...] = (
            ("risk", parse_risk),
            ("pricing", parse_pricing),
            ("hedging", parse_hedging),
        )
        for table, parse in parsers:
            value = data.get(table)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise BadInput(f"{file}: {table} = {value!r}: must be a table")
            cfg = parse(value, file)
            found[table] = _summary(table, cfg)
    except ConfigError as e:
        raise BadInput(str(e)) from None
    return found


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _summary(table: str, cfg: Any) -> dict[str, Any]:
    if table == "risk":
        return {"accounts": len(cfg.accounts), "base_currency": cfg.base_currency}
    if table == "hedging":
        return {"assets": sorted(cfg.assets), "base_currency": cfg.base_currency}
    return {"marks": len(cfg.marks), "bars": list(cfg.bars)}


def check_file(path: str, kind: str | None = None) -> dict[str, Any]:
    """Validate ``path`` as ``kind`` (detected when None). Raises BadInput naming what is wrong."""
    import tomllib

    if kind is not None and kind not in KINDS:
        raise BadInput(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{path}: not valid TOML: {e}") from None
    kind = kind or detect(data, path)
    if kind in ("run", *_RUN_TABLES):
        return {"file": path, "kind": kind, **_check_run(data, path, kind)}
    if kind == "simulator":
        from sim.markets import ProfileError
        from sim.markets.profile import read_profile

        try:
            profile = read_profile(p)
        except ProfileError as e:
            raise BadInput(str(e)) from None
        return {"file": path, "kind": kind, "name": profile.name, "instruments": len(profile.specs)}
    if kind == "fix-sessions":
        from system.gateways.fix.config import ConfigError as SessionsError
        from system.gateways.fix.config import parse_sessions

        try:
            sessions = parse_sessions(data, path)
        except SessionsError as e:
            raise BadInput(str(e)) from None
        return {"file": path, "kind": kind, "sessions": len(sessions.sessions)}
    if kind == "api-keys":
        from system.gateways.rest.keys import KeysFileError, load_keys

        try:
            ring = load_keys(path, option="")
        except KeysFileError as e:
            raise BadInput(str(e)) from None
        return {"file": path, "kind": kind, "keys": len(ring._by_key)}
    if kind == "rest-target":
        from system.gateways.fix.config import ConfigError as TargetError
        from system.oracle.resttarget import load_rest_target

        try:
            # The key is the run's (--api-key or the environment), not the file's: not checked here.
            target = load_rest_target(None, "-", p)
        except TargetError as e:
            raise BadInput(str(e)) from None
        return {"file": path, "kind": kind, "name": target.name, "url": target.url}
    from sim.clock.venuefile import VenueFileError, read_venue_file

    try:
        spec = read_venue_file(p)
    except VenueFileError as e:
        raise BadInput(str(e)) from None
    return {"file": path, "kind": kind, "code": spec.code}


@config_app.command("check")
def check(
    file: Annotated[str, typer.Argument(help="The TOML file.")],
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"What it configures: {', '.join(KINDS)} (default: detect).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="The result as one JSON object.")] = False,
) -> None:
    """Validate a risk, pricing, simulator or venue TOML file (exit 0 good, 2 naming the bad value)."""
    result = check_file(file, kind)
    if json:
        typer.echo(msgspec.json.encode(result).decode())
        return
    shown = {k: v for k, v in result.items() if k not in ("file", "kind")}
    details = ", ".join(f"[{k}]" if isinstance(v, dict) else f"{k} {v}" for k, v in shown.items())
    kind = result["kind"]
    typer.echo(f"{file}: ok, {_article(kind)} {kind} file" + (f" ({details})" if details else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
