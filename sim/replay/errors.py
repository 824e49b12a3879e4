"""Errors the replayer raises on purpose; each message names the bad value in one line."""

from __future__ import annotations


class ReplayError(ValueError):
    """A question the log cannot answer: a time outside it, a log without a manifest, a bad override."""
