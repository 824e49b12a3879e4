"""Where spans and metrics go: OTLP when configured, the console, or memory (tests).

Configuration is read once into a frozen ``TelemetryConfig``: ``chronex serve --otlp URL`` or the
standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP over HTTP/protobuf, ``pip install -e '.[otel]'``),
``--trace console`` to print spans. Nothing configured: no ``Telemetry`` at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from system.clock import Clock
from system.telemetry.tracing import Telemetry

SCOPE = "chronex"


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """``otlp``: collector base URL (``http://host:4318``); ``console``: spans to stdout."""

    otlp: str | None = None
    console: bool = False
    service: str = "chronex-serve"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, otlp: str | None = None, console: bool = False
    ) -> TelemetryConfig:
        """Flags first, then the standard OTEL_ variables (``OTEL_SDK_DISABLED=true`` wins)."""
        if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return cls()
        url = otlp or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
        return cls(otlp=url, console=console, service=env.get("OTEL_SERVICE_NAME", "chronex-serve"))

    @property
    def enabled(self) -> bool:
        return self.otlp is not None or self.console


Shutdown = Callable[[], None]


def build_telemetry(
    config: TelemetryConfig,
    wall: Clock,
    *,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> tuple[Telemetry, Shutdown]:
    """A ``Telemetry`` with its own providers (never the process-global ones, so two servers in
    one test process do not mix). Tests pass an in-memory ``span_exporter``/``metric_reader``."""
    resource = Resource.create({"service.name": config.service})
    tracers = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    if span_exporter is not None:
        tracers.add_span_processor(SimpleSpanProcessor(span_exporter))
    if metric_reader is not None:
        readers.append(metric_reader)
    if config.console:
        tracers.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=10_000))
    if config.otlp is not None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = config.otlp.rstrip("/")
        tracers.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces")))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics")))
    meters = MeterProvider(resource=resource, metric_readers=readers)
    tel = Telemetry(tracers.get_tracer(SCOPE), meters.get_meter(SCOPE), wall)

    def shutdown() -> None:
        tracers.shutdown()
        meters.shutdown()

    return tel, shutdown
