"""What ``chronex serve`` attaches beside the sequencer: service subscribers, tracing, ``--status``.

Each subscriber (``--archive``, ``--nats``, ``--redis``, ``--influx``) is attached through the
subscription seam (``sequencer.subscribe``) wrapped in ``Background``: the sequencer only queues a
batch, a thread per subscriber talks to the service, and each resumes from its own stored
position after a restart (system/server/background.py).
"""

from __future__ import annotations

import gc
import json
import os
import urllib.parse
from collections.abc import Callable
from typing import Any

from chronex.errors import BadInput
from system.clock import FixedClock, WallClock
from system.eventlog import EventStore, open_log
from system.server.background import Background
from system.server.server import Server

Shutdown = Callable[[], None]


def _reader(url: str, store: EventStore) -> Callable[[], EventStore]:
    """How a subscriber thread reads the log: its own connection (SQLite and psycopg connections
    belong to one thread), or the store itself for an in-memory log."""
    if url.startswith("memory://"):
        return lambda: store
    return lambda: open_log(url, FixedClock(0), create=False)


def venue_reference(venue: str, t: int) -> dict[str, Any]:
    """What Redis caches of a venue first listed at ``t``: its profile and its calendar for the
    trade dates from ``t``'s to two weeks on (integers ns UTC; the same log gives the same data)."""
    from datetime import timedelta

    from sim.clock import venue_calendar
    from sim.markets import ProfileError, load_profile

    out: dict[str, Any] = {}
    try:
        p = load_profile(venue)
        out[f"venue:{venue}"] = {
            "name": p.name, "description": p.description, "calendar": p.calendar,
            "instruments": list(p.ids), "factors": [[f, vol] for f, vol in p.factors],
        }  # fmt: skip
    except ProfileError:
        pass
    try:
        cal = venue_calendar(venue)
    except Exception:  # a venue without a calendar: nothing to cache
        return out
    first = cal.trade_date(t)
    sessions = cal.sessions(first, first + timedelta(days=14))
    out[f"calendar:{venue}"] = {
        "venue": venue, "tz": cal.tz, "from": first.isoformat(),
        "sessions": [
            {"trade_date": s.trade_date.isoformat(), "open": s.open, "close": s.close,
             "breaks": [list(b) for b in s.breaks], "projected": s.projected}
            for s in sessions
        ],
    }  # fmt: skip
    return out


def attach_services(
    server: Server,
    url: str,
    *,
    archive: str | None = None,
    nats: str | None = None,
    redis: str | None = None,
    influx: str | None = None,
) -> list[Background]:
    """Build and subscribe each asked-for service subscriber; a bad URL or a service that does not
    answer is a ``BadInput`` naming the flag."""
    store = server.host.store
    made: list[tuple[str, Callable[[], Any]]] = []
    if archive is not None:

        def make_archive() -> Any:
            from chronex.commands.archive import VenueTradeDates
            from system.archive.postgres import PostgresArchive

            return PostgresArchive(archive, store, VenueTradeDates())

        made.append(("--archive", make_archive))
    if nats is not None:

        def make_nats() -> Any:
            from system.feed.nats import NatsPublisher

            return NatsPublisher(nats)

        made.append(("--nats", make_nats))
    if redis is not None:

        def make_redis() -> Any:
            from system.cache.redis import RedisReadModels

            # ?namespace=NAME picks the key prefix (default chronex); redis-py gets the rest.
            u = urllib.parse.urlsplit(redis)
            q = dict(urllib.parse.parse_qsl(u.query))
            ns = q.pop("namespace", "chronex")
            plain = urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))
            return RedisReadModels(plain, namespace=ns, reference=venue_reference)

        made.append(("--redis", make_redis))
    if influx is not None:

        def make_influx() -> Any:
            from system.timeseries.influx import InfluxBars

            return InfluxBars(influx)

        made.append(("--influx", make_influx))
    subs: list[Background] = []
    try:
        for flag, make in made:
            try:
                inner = make()
                check = getattr(inner, "check", None)
                if check is not None:  # a service that connects lazily: ask it to answer now
                    check()
            except ImportError as e:
                raise BadInput(
                    f"{flag}: the client library is not installed ({e.name}); see docs/operators.md"
                ) from None
            except Exception as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise BadInput(f"{flag}: {first}") from None
            bg = Background(inner, _reader(url, store), server.sequencer.head_seq)
            server.sequencer.subscribe(bg, catch_up=False)
            subs.append(bg)
    except BadInput:
        for bg in subs:
            bg.close(timeout=1.0)
        raise
    if server.telemetry is not None:
        from system.telemetry.status import subscriber_lags

        server.telemetry.watch_lag(lambda: subscriber_lags(server))
    return subs


GC_THRESHOLDS = (10_000, 4, 100)


def tune_gc() -> None:
    """Keep the cycle collector off the served path, once start-up is done.

    Everything alive after start-up (modules, the folded system, the read models) moves to the
    permanent generation, so a full collection no longer walks it: measured under bench/fix.py, full
    collections of that heap took about a fifth of the server's CPU. The young generation is
    collected every 10,000 allocations rather than 700: almost all of a request's garbage is freed by
    reference counting, so most young collections found nothing to free. A middle generation
    collected every 4 young ones (not 20) stays small: resting orders survive into it, and at 20
    its collections walked ~200,000 objects, 60 ms pauses in the served path's latency tail (13 ms
    at 4); full collections come from the growth rule, not every 20 middle ones.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def tracing(otlp: str | None, trace: str | None) -> tuple[Any, Shutdown]:
    """The server's ``Telemetry`` from ``--otlp``/``--trace`` and the OTEL_ environment, or None."""
    if trace not in (None, "console"):
        raise BadInput(f"--trace {trace!r} is not an exporter (use console, or --otlp URL)")
    try:
        from system.telemetry.providers import TelemetryConfig, build_telemetry
    except ImportError as e:
        if otlp or trace or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            raise BadInput(
                f"tracing needs the otel extra: pip install -e '.[otel]' ({e.name} missing)"
            ) from None
        return None, lambda: None
    cfg = TelemetryConfig.from_env(os.environ, otlp=otlp, console=trace == "console")
    if not cfg.enabled:
        return None, lambda: None
    if cfg.otlp is not None and not cfg.otlp.startswith(("http://", "https://")):
        raise BadInput(
            f"--otlp {cfg.otlp!r} is not an http(s) URL (OTLP over HTTP, e.g. http://127.0.0.1:4318)"
        )
    try:
        return build_telemetry(cfg, WallClock())
    except ImportError as e:
        raise BadInput(f"--otlp needs the otel extra: pip install -e '.[otel]' ({e.name} missing)") from None


def print_status(port: int, *, as_json: bool) -> None:
    """Ask a running server (admin channel on ``port``) for its status and print it."""
    from rich.console import Console
    from rich.table import Table

    from system.server.admin import AdminClient, AdminError

    try:
        client = AdminClient("127.0.0.1", port, timeout=10.0)
    except OSError as e:
        raise BadInput(f"--admin-port {port}: no chronex serve answers there ({e.strerror or e})") from None
    try:
        st = client.call("status")
    except AdminError as e:
        raise BadInput(f"--admin-port {port}: {e}") from None
    finally:
        client.close()
    st.pop("ok", None)
    if as_json:
        print(json.dumps(st, default=str))
        return
    con = Console()
    con.print(
        f"[bold]{st['log']}[/]  head seq {st['head']}  clock {st['clock']}  "
        f"executed {st['executed']}  queued {st['queued']}  tracing {'on' if st['telemetry'] else 'off'}"
    )
    t = Table("kind", "name", "detail")
    for g, p in st["gateways"].items():
        t.add_row("gateway", g, f"port {p}")
    for c in st["components"]:
        t.add_row("component", c, "")
    for p in st["projections"]:
        t.add_row("projection", p, "")
    for s in st["subscribers"]:
        detail = f"position {s['position']}, lag {s['lag']}" + (" (own thread)" if s["thread"] else "")
        if s["error"]:
            detail += f", failing: {s['error']}"
        t.add_row("subscriber", s["name"], detail)
    con.print(t)
