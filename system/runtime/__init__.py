"""The CQRS runtime: components on the command side, projections on the query side."""

from system.runtime.component import Component, applies, handles, reacts
from system.runtime.manifest import RunStarted, manifest
from system.runtime.projection import Projection, on_event
from system.runtime.runtime import CommandFailed, Context, Outcome, Runtime, rebuild

__all__ = [
    "CommandFailed",
    "Component",
    "Context",
    "Outcome",
    "Projection",
    "RunStarted",
    "Runtime",
    "applies",
    "handles",
    "manifest",
    "on_event",
    "reacts",
    "rebuild",
]
