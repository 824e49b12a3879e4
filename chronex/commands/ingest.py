"""``chronex ingest fix FILE...``: production FIX logs, QuickFIX stores and pcaps as a replayable log.

chronex ingest fix FIX.4.4-VENUE-CLIENT1.messages.log -o prod.db --venue XTKS --instruments 7203
chronex ingest fix day.pcap -o prod.db --like served.db
chronex replay prod.db --rerun --out rerun.db
chronex diff prod.db rerun.db --production
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from chronex.errors import BadInput

ingest_app = typer.Typer(help="Turn production traffic into a replayable Chronex log.", no_args_is_help=True)


def _config(venue: str | None, instruments: list[str] | None, like: str | None) -> Any:
    from system.bootstrap import SystemConfig

    if like is not None:
        if venue or instruments:
            raise BadInput("give --like LOG or --venue/--instruments, not both")
        from chronex.commands.replay import open_existing
        from sim.replay import recorded_config

        store = open_existing(like)
        try:
            cfg = recorded_config(store)
        finally:
            store.close()
        # The same system, on the recorded timeline only: no calendar-driven phase changes.
        return msgspec.structs.replace(cfg, label="ingest", venues=(), default_phase=_continuous())
    if venue is None:
        raise BadInput("name the system the traffic went to: --venue NAME [--instruments ...] or --like LOG")
    from sim.markets import ProfileError, load_profile

    refs = [v.strip() for item in instruments or () for v in item.split(",") if v.strip()]
    try:
        insts = load_profile(venue).select(refs or None).instruments
    except ProfileError as e:
        raise BadInput(str(e)) from None
    return SystemConfig(instruments=insts, venues=(), default_phase=_continuous(), label="ingest")


def _continuous() -> Any:
    from system.engine import Phase

    return Phase.CONTINUOUS


@ingest_app.command("fix")
def ingest_fix(
    files: Annotated[
        list[str], typer.Argument(help="FIX message logs, QuickFIX .body/.header stores, pcaps.")
    ],
    out: Annotated[str, typer.Option("--out", "-o", help="The new log (path or URL).")],
    venue: Annotated[
        str | None, typer.Option(help="Venue profile the traffic was for: XTKS, CME, ... or a .toml.")
    ] = None,
    instruments: Annotated[
        list[str] | None, typer.Option(help="Instruments by symbol or id, comma-separated (default: all).")
    ] = None,
    like: Annotated[
        str | None, typer.Option(help="Take the system (instruments, risk, pricing) from this log.")
    ] = None,
    sessions: Annotated[
        str | None, typer.Option(help="FIX sessions TOML (accounts per session), as for chronex serve.")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="Production's instrument name = a Chronex id: 7203.T=XTKS:7203 (repeatable)."
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing log at --out.")] = False,
    json: Annotated[bool, typer.Option("--json", help="One JSON object instead of a line.")] = False,
) -> None:
    """Ingest FIX traffic: inbound orders become commands at their times, reports are kept."""
    from system.clock import FixedClock
    from system.eventlog.fresh import fresh_store
    from system.gateways.fix.config import ConfigError, load_sessions
    from system.ingest import IngestError
    from system.ingest.sources import read_source
    from system.ingest.writer import write_log

    cfg = _config(venue, instruments, like)
    sess = None
    if sessions is not None:
        try:
            sess = load_sessions(Path(sessions))
        except ConfigError as e:
            raise BadInput(str(e)) from None
    symbols: dict[str, str] = {}
    for item in map_ or ():
        alias, eq, inst_id = item.partition("=")
        if not eq or not alias.strip() or not inst_id.strip():
            raise BadInput(f"--map {item!r} is not NAME=INSTRUMENT (e.g. 7203.T=XTKS:7203)")
        symbols[alias.strip()] = inst_id.strip()
    try:
        # Read and check every source before a log is made: a broken one leaves nothing behind.
        srcs = [read_source(Path(f)) for f in files]
        with fresh_store(out, FixedClock(0), overwrite=overwrite, option="--out") as store:
            res = write_log(srcs, store, cfg, sessions=sess, symbols=symbols)
    except IngestError as e:
        raise BadInput(str(e)) from None
    data = {
        "out": out,
        "sources": [
            {
                "name": s.name,
                "sha256": s.sha256,
                "format": s.format,
                "messages": len(s.messages) + len(s.feed),
            }
            for s in srcs
        ],
        **msgspec.to_builtins(res.__dict__),
    }
    if json:
        typer.echo(msgspec.json.encode(data).decode())
        return
    typer.echo(
        f"{out}: {res.commands} commands, {res.observed} FIX and {res.feed} ITCH messages kept "
        f"({res.edge_rejected} refused at the edge, {res.duplicates} duplicates dropped, "
        f"{res.skipped} session-level skipped) from {len(srcs)} file(s); sessions "
        f"{', '.join(res.sessions)}; {res.head_seq} entries"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
