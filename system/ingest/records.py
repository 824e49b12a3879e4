"""What an ingested log keeps besides commands: its sources and production's messages as seen.

Both are standalone facts (no command caused them), so a re-run copies them unchanged and the
reports today's engine produces can be set beside them (``system.ingest.compare``).
"""

from __future__ import annotations

from system.eventlog.records import Event


class IngestedSource(Event, frozen=True):
    """One file an ingested log was made from: its name, sha256, format and the FIX messages used."""

    file: str
    sha256: str
    format: str  # "fix-log", "quickfix-store" or "pcap"
    messages: int

    def stream(self) -> str:
        return "ingest/sources"


class FixObserved(Event, frozen=True):
    """A FIX application message production sent or received, as recorded.

    ``direction`` is "in" (client to venue: orders, cancels) or "out" (venue to client: reports).
    ``session`` is the client's CompID, the key a served Chronex session uses. ``note`` says why
    an inbound message became no command (it is then an edge rejection, as at the gateway).
    """

    session: str
    direction: str
    msg_type: str
    seq_num: int
    fields: tuple[tuple[int, str], ...]
    where: str  # "FILE:LINE" or "FILE frame N"
    note: str = ""

    def stream(self) -> str:
        return f"ingest/fix/{self.session}"

    def get(self, tag: int) -> str | None:
        for t, v in self.fields:
            if t == tag:
                return v
        return None


class ItchObserved(Event, frozen=True):
    """An ITCH 5.0 message production published (SoupBinTCP or MoldUDP64), as captured.

    ``seq`` is its sequence number in the feed session; ``raw`` the message bytes in hex (the
    layouts are in ``system.gateways.itch.messages``).
    """

    channel: str  # "soup" or "mold"
    session: str
    seq: int
    msg_type: str
    raw: str
    where: str

    def stream(self) -> str:
        return f"ingest/itch/{self.session}"
