"""The shadow oracle: what a run against an external target records, and how the target's
observed behaviour is compared with Chronex's reference engine (docs/external.md).

``records`` holds the log records of such a run (the target's identity, every FIX message or REST
request sent and answer received, each divergence); ``compare`` turns order events into plain observations and
compares two sequences of them under the configured tolerances; ``config`` reads the target's
sessions file. Nothing here does I/O beyond reading that file.
"""

from system.oracle.compare import Divergence, Observation, Tolerances, compare, observe, render
from system.oracle.records import (
    FixReceived,
    FixSent,
    OracleDiverged,
    RestReceived,
    RestSent,
    TargetIdentified,
)

__all__ = [
    "Divergence",
    "FixReceived",
    "FixSent",
    "Observation",
    "OracleDiverged",
    "RestReceived",
    "RestSent",
    "TargetIdentified",
    "Tolerances",
    "compare",
    "observe",
    "render",
]
