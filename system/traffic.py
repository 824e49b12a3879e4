"""Traffic records: one message that crossed a link of a mock (or any gateway that records).

``chronex mock NAME --record LOG`` appends one ``TrafficRecorded`` per message or read, in the
order they crossed, stamped with the mock's clock (valid time); ``--replay LOG`` plays them back.
"""

from __future__ import annotations

from system.eventlog import Event

__all__ = ["TrafficRecorded"]


class TrafficRecorded(Event, frozen=True, gc=False):
    """``payload`` crossed ``link`` of ``mock``: ``direction`` ``in`` (to the mock) or ``out``."""

    mock: str
    link: str
    direction: str
    payload: bytes

    def stream(self) -> str:
        return f"traffic/{self.mock}"
