"""``chronex archive``: keep PostgreSQL tables of orders, executions, trades, positions and
account events current as a log grows.

    chronex archive --from day.db --to "postgresql://postgres@127.0.0.1/test?schema=archive"

Follows the log until interrupted (Ctrl-C or SIGTERM end it cleanly); ``--once`` archives what
the log holds now and exits. A restart resumes after the last archived entry: its position is
stored with the rows, so a kill -9 neither loses nor duplicates a row.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import date
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

from chronex.errors import BadInput
from system.clock import FixedClock
from system.eventlog import EventStore, open_log

out = Console(highlight=False)
_EPOCH = date(1970, 1, 1).toordinal()
_DAY_NS = 86_400 * 10**9
err = Console(stderr=True, highlight=False)


class VenueTradeDates:
    """``trade_date(venue, t)`` from the venue calendars (sim/clock); a venue without a calendar
    (or a time beyond its horizon) falls back to the UTC date, the same way on every run."""

    def __init__(self) -> None:
        self._cals: dict[str, Any] = {}
        # The calendar's answer holds for every t of one session: remember its span per venue.
        self._last: dict[str, tuple[int, int, date]] = {}

    def __call__(self, venue: str, t: int) -> date:
        hit = self._last.get(venue)
        if hit is not None and hit[0] < t <= hit[1]:
            return hit[2]
        cal = self._cals.get(venue, False)
        if cal is False:
            cal = self._cals[venue] = self._calendar(venue)
        if cal is not None:
            try:
                d: date = cal.trade_date(t)
                s = cal.session(d)
                lo = s.transitions[0].at - 1
                if lo < t <= s.close:
                    self._last[venue] = (lo, s.close, d)
                return d
            except Exception:  # beyond the calendar's horizon: the UTC date below
                pass
        return date.fromordinal(_EPOCH + t // _DAY_NS)

    @staticmethod
    def _calendar(venue: str) -> Any:
        if not venue:
            return None
        try:
            from sim.clock import venue_calendar

            return venue_calendar(venue)
        except Exception:
            return None


def _open_log(url: str) -> EventStore:
    # Every record type a build can log must be known to decode the log: the composition root
    # and the packages that register themselves with it.
    import system.bootstrap
    import system.corrections
    import system.pricing
    import system.risk  # noqa: F401

    return open_log(url, FixedClock(0), create=False)


def archive(
    from_: Annotated[str, typer.Option("--from", help="The log to archive (a path or URL).")],
    to: Annotated[
        str,
        typer.Option(help="The archive: postgresql://user@host/db?schema=NAME (default chronex_archive)."),
    ],
    once: Annotated[bool, typer.Option(help="Archive what the log holds now, then exit.")] = False,
    batch: Annotated[int, typer.Option(help="Entries per archive transaction (at most).")] = 5000,
    poll: Annotated[float, typer.Option(help="Seconds between looks at the log when idle.")] = 0.05,
    name: Annotated[str, typer.Option(help="The archive's position name (one per log).")] = "archive",
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
) -> None:
    """Keep relational tables (orders, executions, trades, positions, account events) of a log in
    PostgreSQL, partitioned by trade date, current as the log grows."""
    if not to.lower().startswith(("postgresql://", "postgres://")):
        raise BadInput(f"--to {to!r}: the archive is a postgresql:// URL")
    if batch < 1:
        raise BadInput(f"--batch {batch} must be at least 1")
    if poll <= 0:
        raise BadInput(f"--poll {poll} must be positive")
    if not name.strip():
        raise BadInput(f"--name {name!r}: the archive's position needs a name")
    try:
        from system.archive.postgres import PostgresArchive
    except ImportError:
        raise BadInput("the archive needs psycopg: pip install 'chronex[postgres]'") from None
    from system.server.subscription import Subscription

    store = _open_log(from_)
    try:
        arch = PostgresArchive(to, store, VenueTradeDates(), name=name)
        try:
            sub = Subscription(store, arch, max_batch=batch)
            start = arch.position()
            if once:
                sub.poll()
                if not quiet and arch.position() > start:
                    out.print(f"{from_}: archived seq {start + 1}..{arch.position()} into {arch.schema}")
                typer.echo(f"archive {arch.schema}: at seq {arch.position()} of {store.head().seq}")
                return
            stop = threading.Event()

            def on_signal(signum: int, frame: FrameType | None) -> None:
                stop.set()

            old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
            if not quiet:
                err.print(f"archiving {from_} into {arch.schema} from seq {start + 1} (Ctrl-C stops)")
            last = [time.monotonic()]

            def idle() -> None:
                if not quiet and time.monotonic() - last[0] >= 5:
                    err.print(f"archive {arch.schema}: at seq {arch.position()}")
                    last[0] = time.monotonic()

            try:
                sub.follow(stop, poll_interval=poll, on_idle=idle)
            finally:
                for s, h in old.items():
                    signal.signal(s, h)
            typer.echo(f"archive {arch.schema}: at seq {arch.position()} of {store.head().seq}")
        finally:
            arch.close()
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    app.command("archive")(archive)
