"""The one error ingest raises: a source that cannot be read, named with its line or frame."""

from __future__ import annotations


class IngestError(ValueError):
    """Malformed input: the message names the file and the line (logs) or frame (captures)."""
