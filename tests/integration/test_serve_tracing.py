"""OpenTelemetry over a served venue: one FIX order's trace from gateway receipt through risk,
engine, append and routing to the reply, the command path's metrics, and the status view."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="install the otel extra: pip install -e '.[otel]'")

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chronex.commands.serve import ServedWorld, WorldHost
from system.bootstrap import SystemConfig
from system.clock import WallClock
from system.engine.testkit import instrument
from system.gateways.fix import FixAcceptor, FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.config import parse_sessions
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.orders import OrderEntry
from system.risk.config import RiskConfig
from system.server.clockmode import ClockMode
from system.server.server import Server
from system.telemetry import status_of
from system.telemetry.providers import TelemetryConfig, build_telemetry

T0 = 1_925_424_000 * 10**9  # 2031-01-06 09:00 JST
INST = "XTKS:7203"
SESSIONS = parse_sessions(
    {"defaults": {"sender_comp_id": "CHRONEX"}, "session": [{"target_comp_id": "QA1", "accounts": ["A"]}]}
)


class Client:
    def __init__(self) -> None:
        self.got: list[FixMessage] = []

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.got.append(msg)


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def _served(telemetry: Any) -> Server:
    cfg = SystemConfig(instruments=(instrument(INST),), risk=RiskConfig())
    world = ServedWorld(cfg, start_ns=T0, sessions=False)
    return Server(WorldHost(world), ClockMode(world.clock), telemetry=telemetry)


def test_one_order_is_traced_end_to_end_with_every_component_named() -> None:
    """A NewOrderSingle's trace holds the gateway receipt, the sequencer, risk, the engine, the
    append and the routing of its ExecutionReport, with its command id and log seq."""
    spans = InMemorySpanExporter()
    metrics = InMemoryMetricReader()
    tel, shutdown = build_telemetry(
        TelemetryConfig(), WallClock(), span_exporter=spans, metric_reader=metrics
    )
    server = _served(tel)
    client = Client()

    async def body() -> None:
        await server.start()
        acceptor = FixAcceptor(
            SESSIONS, OrderEntry(server, SESSIONS), server.host.clock, store_factory("memory:"),
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        await acceptor.start()
        ini = FixInitiator(
            SESSIONS.sessions[0].counterpart(), client, server.host.clock, store_factory("memory:"),
            host="127.0.0.1", port=acceptor.port, dictionary=chronex_dictionary(),
        )  # fmt: skip
        session = await ini.connect()
        session.send(
            "D",
            [
                (11, "b1"),
                (55, INST),
                (54, "1"),
                (60, "20310106-00:00:00"),
                (38, "100"),
                (40, "2"),
                (44, "2500"),
            ],
        )
        await until(lambda: any(m.msg_type == "8" for m in client.got))
        await until(lambda: any(s.name == "fix.NewOrderSingle" for s in spans.get_finished_spans()))
        await ini.stop()
        await acceptor.stop()
        await server.stop()

    asyncio.run(body())
    report = next(m for m in client.got if m.msg_type == "8")
    assert report.get(150) == b"0", report
    finished = spans.get_finished_spans()
    root = next(s for s in finished if s.name == "fix.NewOrderSingle")
    assert root.attributes is not None and root.parent is None
    assert root.attributes["chronex.command_id"] == "QA1/b1"
    assert root.attributes["chronex.command"] == "SubmitOrder"
    seq = root.attributes["chronex.seq"]
    assert isinstance(seq, int) and seq > 0
    trace = [s for s in finished if s.context.trace_id == root.context.trace_id]
    names = {s.name for s in trace}
    assert {"sequencer.execute", "eventlog.append", "subscriber.router"} <= names, names
    components = {s.attributes.get("chronex.component") for s in trace if s.attributes}
    assert {"risk", "engine"} <= components, names
    by_id = {s.context.span_id: s for s in trace}
    execute = next(s for s in trace if s.name == "sequencer.execute")
    for s in trace:  # every span hangs off the order's root, handlers under the execute span
        assert s is root or (s.parent is not None and s.parent.span_id in by_id)
        if s.attributes and s.attributes.get("chronex.component") in ("risk", "engine"):
            assert s.parent is not None and s.parent.span_id == execute.context.span_id
        assert root.start_time is not None and s.start_time is not None and s.end_time is not None
        assert root.end_time is not None and root.start_time <= s.start_time <= s.end_time <= root.end_time

    data = metrics.get_metrics_data()
    assert data is not None
    seen = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"chronex.commands", "chronex.append.duration"} <= set(seen)
    assert sum(p.value for p in seen["chronex.commands"].data.data_points) >= 1
    shutdown()


def test_without_telemetry_the_runtime_handlers_stay_as_built() -> None:
    """An untraced server wraps nothing: the runtime calls the components' own methods."""
    server = _served(None)
    rt = server.host.runtime
    before = {t: list(fns) for t, fns in rt._handlers.items()}
    asyncio.run(_one_command(server))
    assert {t: list(fns) for t, fns in rt._handlers.items()} == before
    assert all(getattr(fn, "__self__", None) is not None for fns in before.values() for fn in fns)


async def _one_command(server: Server) -> None:
    from system.engine import SubmitOrder
    from system.engine.orders import OrderType, Side

    await server.start()
    res = await server.sequencer.call(
        "QA1", "x1", SubmitOrder(account="A", instrument=INST, side=Side.BUY, qty=100, price=2500,
                                 order_type=OrderType.LIMIT, client_order_id="x1"),
    )  # fmt: skip
    assert res.error is None and res.seq > 0
    await server.stop()


def test_status_lists_components_subscribers_and_lag() -> None:
    """The status view names the components, projections and subscribers with their lag."""
    server = _served(None)
    st = status_of(server)
    assert st["head"] == server.host.store.head().seq
    assert "engine" in st["components"] and "risk" in st["components"]
    assert [s["name"] for s in st["subscribers"]] == ["router"]
    assert st["subscribers"][0]["lag"] == 0
    assert st["telemetry"] is False
    server.host.close()


def test_rest_orders_are_traced_from_their_receipt_like_fix_ones() -> None:
    """A REST order, with or without an Idempotency-Key, is a ``rest.SubmitOrder`` trace rooted at
    its receipt (not the sequencer's own root) holding the execution, and it is counted."""
    import httpx

    from system.gateways.rest import RestGateway
    from system.gateways.rest.app import build_app
    from tests.integration.rest_kit import RING

    spans = InMemorySpanExporter()
    metrics = InMemoryMetricReader()
    tel, shutdown = build_telemetry(
        TelemetryConfig(), WallClock(), span_exporter=spans, metric_reader=metrics
    )
    server = _served(tel)
    gw = RestGateway(server, RING)

    async def body() -> None:
        await server.start()
        transport = httpx.ASGITransport(app=build_app(gw))
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as c:
            order = {"account": "A", "instrument": INST, "side": "BUY", "qty": "100", "price": "2500"}
            head = {"X-API-Key": "k-trader"}
            assert (await c.post("/v1/orders", json=order, headers=head)).status_code == 201
            keyed = {**head, "Idempotency-Key": "once"}
            assert (await c.post("/v1/orders", json=order, headers=keyed)).status_code == 201
        await server.stop()

    asyncio.run(body())
    shutdown()
    roots = [s for s in spans.get_finished_spans() if s.name == "rest.SubmitOrder"]
    assert len(roots) == 2
    assert not [s for s in spans.get_finished_spans() if s.name == "sequencer.command"]
    ids = {s.attributes["chronex.command_id"] for s in roots}  # type: ignore[index]
    assert "rest-alice/D:once" in ids
    for root in roots:
        kids = [
            s
            for s in spans.get_finished_spans()
            if s.parent is not None and s.parent.span_id == root.context.span_id
        ]
        assert "sequencer.execute" in {k.name for k in kids}
        assert root.start_time <= min(k.start_time for k in kids)
    data = metrics.get_metrics_data()
    counted = [
        p.value
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == "chronex.commands"
        for p in m.data.data_points
    ]
    assert counted and counted[0] >= 2
