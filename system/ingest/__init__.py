"""Ingest production FIX traffic (message logs, QuickFIX stores, pcaps) into a replayable log.

``read_sources`` turns files into timed FIX messages (``Captured``); ``write_log`` runs the inbound
orders through the system as commands at their recorded times and keeps every outbound report as a
``FixObserved`` record; ``compare_reports`` sets production's reports beside the engine's.
"""

from system.ingest.errors import IngestError
from system.ingest.records import FixObserved, IngestedSource, ItchObserved

__all__ = ["FixObserved", "IngestError", "IngestedSource", "ItchObserved"]
