"""Where telemetry goes: flags before the OTEL_ environment, off unless asked, bad values refused,
and an OTLP endpoint really receives the spans and metrics."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="install the otel extra: pip install -e '.[otel]'")

from chronex.errors import BadInput
from chronex.serving import tracing
from system.clock import WallClock
from system.telemetry.providers import TelemetryConfig, build_telemetry


def test_flags_win_over_the_environment_and_disabled_wins_over_both() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_SERVICE_NAME": "venue-a"}
    assert TelemetryConfig.from_env(env).otlp == "http://env:4318"
    assert TelemetryConfig.from_env(env, otlp="http://flag:4318").otlp == "http://flag:4318"
    assert TelemetryConfig.from_env(env).service == "venue-a"
    assert not TelemetryConfig.from_env({}).enabled
    assert not TelemetryConfig.from_env({**env, "OTEL_SDK_DISABLED": "true"}, otlp="http://x:1").enabled


def test_nothing_configured_means_no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    tel, shutdown = tracing(None, None)
    assert tel is None
    shutdown()


def test_bad_exporters_are_refused_naming_the_value() -> None:
    with pytest.raises(BadInput, match="--trace 'jaeger'"):
        tracing(None, "jaeger")
    with pytest.raises(BadInput, match="--otlp 'grpc://x:4317'"):
        tracing("grpc://x:4317", None)


class _Collector(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_otlp_exporter_posts_traces_and_metrics_to_the_collector() -> None:
    _Collector.paths = []
    srv = HTTPServer(("127.0.0.1", 0), _Collector)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        tel, shutdown = build_telemetry(
            TelemetryConfig(otlp=f"http://127.0.0.1:{srv.server_port}"), WallClock()
        )
        tel.receive("fix", "NewOrderSingle", "QA1/o1")
        tel.counted(1)
        tel.finish("QA1/o1", 7)
        shutdown()  # flushes the batch processor and the periodic reader
    finally:
        srv.shutdown()
        srv.server_close()
    assert "/v1/traces" in _Collector.paths and "/v1/metrics" in _Collector.paths
