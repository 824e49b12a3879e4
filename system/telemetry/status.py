"""The running system at a glance ("digital twin"): components, gateways, subscribers and lag."""

from __future__ import annotations

from typing import Any

from system.server.background import Background
from system.server.server import Server


def subscriber_lags(server: Server) -> list[tuple[str, int]]:
    """(name, entries behind the head) of each subscriber; safe from another thread (ints only)."""
    seq = server.sequencer
    head = seq.head_seq
    out: list[tuple[str, int]] = []
    for sub in seq.subscriptions:
        s = sub.subscriber
        if isinstance(s, Background):
            out.append((s.name, s.lag(head)))
    return out


def status_of(server: Server) -> dict[str, Any]:
    """What ``chronex serve --status`` prints: plain values (msgpack and JSON safe)."""
    seq = server.sequencer
    head = seq.head_seq
    rt = server.host.runtime
    subs: list[dict[str, Any]] = []
    for sub in seq.subscriptions:
        s = sub.subscriber
        if isinstance(s, Background):
            subs.append(
                {"name": s.name, "position": s.applied, "lag": s.lag(head), "thread": True, "error": s.error}
            )
        else:  # in line with the sequencer: always at the head once a batch is published
            pos = s.position()
            subs.append(
                {"name": s.name, "position": pos, "lag": max(0, head - pos), "thread": False, "error": None}
            )
    gateways = {k.removesuffix("_port"): v for k, v in server.info.items() if k.endswith("_port")}
    return {
        "log": str(server.host.store.url),
        "head": head,
        "clock": server.mode.name,
        "now": server.mode.now_ns(),
        "executed": seq.executed,
        "queued": seq.queued,
        "components": [str(c.name) for c in rt.components],
        "projections": [str(p.name) for p in rt.projections],
        "gateways": gateways,
        "subscribers": subs,
        "telemetry": server.telemetry is not None,
    }
