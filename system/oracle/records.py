"""Records of a run against an external target: the log of what was sent and received.

A run against a target writes an ordinary hash-chained Chronex log: its manifest (``RunStarted``,
whose label names the target) and ``RunConfigured``, then ``TargetIdentified`` (who the target
is), then for every action the FIX messages sent (``FixSent``) and received (``FixReceived``) as
``tag=value|`` text, the order events the received execution reports mean in Chronex terms, and
an ``OracleDiverged`` wherever the reference engine disagreed.
"""

from __future__ import annotations

from system.eventlog.records import Event


class TargetIdentified(Event, frozen=True):
    """The system under test (``target``: its name), its address, our FIX session with it, the sessions file's
    SHA-256, and whether the shadow oracle ran beside it."""

    target: str
    host: str
    port: int
    sender_comp_id: str
    target_comp_id: str
    sessions_sha256: str
    oracle: bool

    def stream(self) -> str:
        return "run"


class FixSent(Event, frozen=True):
    """An application message we sent the target (body fields, ``tag=value|``)."""

    session: str
    msg_type: str
    text: str

    def stream(self) -> str:
        return f"wire/{self.session}"


class FixReceived(Event, frozen=True):
    """An application message the target sent us (every field, ``tag=value|``)."""

    session: str
    msg_type: str
    text: str

    def stream(self) -> str:
        return f"wire/{self.session}"


class OracleDiverged(Event, frozen=True):
    """The target and the reference engine answered one action differently: ``index`` is the first
    observation that differs, ``target`` and ``oracle`` the two sequences as JSON lines."""

    action: str
    index: int
    target: str
    oracle: str
    fields: tuple[str, ...]

    def stream(self) -> str:
        return "oracle"


class RestSent(Event, frozen=True):
    """A request we sent a REST target: method, path (under its URL) and JSON body ("" for none)."""

    target: str
    method: str
    path: str
    body: str

    def stream(self) -> str:
        return f"wire/{self.target}"


class RestReceived(Event, frozen=True):
    """What a REST target published: an answer (``status``) to the request before it, or a stream
    message (``status`` 0, ``source`` the stream's path), its JSON body as received."""

    target: str
    source: str
    status: int
    body: str

    def stream(self) -> str:
        return f"wire/{self.target}"
