"""Observing a served system: a trace per command, metrics, and the status view.

``system.telemetry.status`` (no dependency) answers ``chronex serve --status``;
``system.telemetry.tracing`` and ``.providers`` need the ``otel`` extra and are imported only when
tracing is configured. Off by default: a sequencer without ``Telemetry`` pays one ``is None`` test
per request (``docs/operators.md``, "Observability").
"""

from system.telemetry.status import status_of

__all__ = ["status_of"]
