"""Spans and metrics of the command path, driven by the sequencer and the gateways.

A command's trace (one root span per command id):

    fix.NewOrderSingle               gateway receipt (root; ends when the reply has been sent)
      sequencer.execute              the command through the runtime
        risk.submit, engine.submit   each component handler and reactor that ran
      eventlog.append                the group commit holding the command
      subscriber.router              routing its outcome to the sessions: the reply goes out here
      subscriber.<name>              every other in-line subscriber of the log
    attributes: chronex.command_id, chronex.seq (the command's log entry), chronex.command

A command that no gateway announced (admin channel, timers) gets a ``sequencer.command`` root.
Metrics: ``chronex.commands`` (counter: commands/s is its rate), ``chronex.append.duration``
(histogram, ms per group commit) and ``chronex.subscriber.lag`` (gauge, entries behind the head,
per subscriber).

Time: spans take their times from OpenTelemetry's own clock (export metadata, never an input of
the system); the append latency is read from the injected wall ``Clock``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from system.clock import Clock

LagSource = Callable[[], Iterable[tuple[str, int]]]
"""Yields (subscriber name, entries behind the log's head)."""

_TRACED = "_chronex_traced"


class Telemetry:
    """Tracer and instruments of one served system; cheap to hold, inert until called."""

    def __init__(self, tracer: Tracer, meter: Meter, wall: Clock) -> None:
        self.tracer = tracer
        self.wall = wall
        self._roots: dict[str, Span] = {}
        self._tables: object = None  # the runtime handler table last instrumented
        self._lag: list[LagSource] = []
        self.commands = meter.create_counter(
            "chronex.commands", unit="{command}", description="commands executed by the sequencer"
        )
        self.append_ms = meter.create_histogram(
            "chronex.append.duration", unit="ms", description="time of one group commit to the log"
        )
        meter.create_observable_gauge(
            "chronex.subscriber.lag",
            callbacks=[self._observe_lag],
            unit="{entry}",
            description="log entries a subscriber is behind the head",
        )

    # -- gateways ------------------------------------------------------------------------------
    def receive(
        self, gateway: str, kind: str, cid: str, *, start_ns: int | None = None, **attrs: str
    ) -> None:
        """A gateway received the request that becomes command ``cid``: open its trace (at
        ``start_ns``, the receipt on ``wall``, when the id is known only later)."""
        self._roots[cid] = self.tracer.start_span(
            f"{gateway}.{kind}",
            attributes={"chronex.command_id": cid, "chronex.gateway": gateway, **attrs},
            start_time=start_ns,
        )

    # -- sequencer -----------------------------------------------------------------------------
    def executing(self, runtime: Any, cid: str, command: object) -> tuple[Span, object]:
        """Open ``sequencer.execute`` for ``cid``; handler spans nest under it until ``executed``."""
        if runtime._handlers is not self._tables:
            self.instrument(runtime)
        root = self._roots.get(cid)
        name = type(command).__name__
        if root is None:
            root = self._roots[cid] = self.tracer.start_span(
                "sequencer.command", attributes={"chronex.command_id": cid}
            )
        root.set_attribute("chronex.command", name)
        span = self.tracer.start_span(
            "sequencer.execute",
            context=trace.set_span_in_context(root),
            attributes={"chronex.command_id": cid, "chronex.command": name},
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token

    def executed(self, handle: tuple[Span, object], error: str | None = None) -> None:
        span, token = handle
        otel_context.detach(token)  # type: ignore[arg-type]
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

    @contextmanager
    def phase(self, name: str, cids: Sequence[str], **attrs: Any) -> Iterator[None]:
        """One span ``name`` under each command's root, around work those commands share (the
        group commit, a subscriber's delivery)."""
        roots = self._roots
        spans = [
            self.tracer.start_span(name, context=trace.set_span_in_context(roots[c]), attributes=attrs)
            for c in cids
            if c in roots
        ]
        try:
            yield
        finally:
            for s in spans:
                s.end()

    @contextmanager
    def append(self, cids: Sequence[str]) -> Iterator[None]:
        """The group commit of ``cids``: a span per command and one latency sample."""
        t0 = self.wall.now_ns()
        with self.phase("eventlog.append", cids, **{"chronex.batch.commands": len(cids)}):
            yield
        self.append_ms.record((self.wall.now_ns() - t0) / 1e6)

    def finish(self, cid: str, seq: int, error: str | None = None, duplicate: bool = False) -> None:
        """The reply for ``cid`` has been sent: close its trace."""
        root = self._roots.pop(cid, None)
        if root is None:
            return
        root.set_attribute("chronex.seq", seq)
        if duplicate:
            root.set_attribute("chronex.duplicate", True)
        if error is not None:
            root.set_status(Status(StatusCode.ERROR, error))
        root.end()

    def counted(self, n: int) -> None:
        self.commands.add(n)

    # -- components ----------------------------------------------------------------------------
    def instrument(self, runtime: Any) -> None:
        """Wrap the runtime's handler and reactor tables so each call is a span named for its
        component. Only a traced server is touched (the tables of an untraced one stay as built);
        a runtime that rebuilt its components after a failure is wrapped again on the next command."""
        for table in (runtime._handlers, runtime._reactors):
            for fns in table.values():
                fns[:] = [fn if getattr(fn, _TRACED, False) else self._wrap(fn) for fn in fns]
        self._tables = runtime._handlers

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        owner = getattr(fn, "__self__", None)
        component = str(getattr(owner, "name", type(owner).__name__))
        name = f"{component}.{getattr(fn, '__name__', 'handler').lstrip('_')}"
        tracer = self.tracer
        attrs = {"chronex.component": component}

        def traced(*args: Any) -> Any:
            with tracer.start_as_current_span(name, attributes=attrs):
                return fn(*args)

        setattr(traced, _TRACED, True)
        return traced

    # -- metrics -------------------------------------------------------------------------------
    def watch_lag(self, source: LagSource) -> None:
        """Report what ``source`` yields as ``chronex.subscriber.lag``."""
        self._lag.append(source)

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(lag, {"subscriber": name}) for source in self._lag for name, lag in source()]
