"""The FIX session layer: logon, sequence numbers, gap detection, resends, heartbeats, rejects.

A ``FixSession`` is sans-IO: it reads frames handed to it (``on_frames``), writes frames to a
``Link`` and is ticked by its owner (``on_timer``). The acceptor and initiator own the sockets.
Which message gets which answer follows the FIX 4.4 session test cases (1a-21), as pinned down by
QuickFIX's acceptance suite.

Two clocks: ``clock`` is the server's clock and stamps SendingTime / checks the peer's;
``timer_clock`` drives heartbeats, TestRequests and timeouts. Under ``--clock virtual`` the server
clock only moves when a test asks, so session liveness runs on wall time instead (a separate clock
passed in by the composition root), and a scenario that jumps a day ahead does not time out every
session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from system.clock import NS_PER_SECOND, Clock
from system.gateways.fix.codec import (
    Garbled,
    GarbledError,
    encode_fields,
    format_timestamp,
    frame,
    parse,
    parse_timestamp,
)
from system.gateways.fix.config import SessionSettings
from system.gateways.fix.dictionary import Dictionary, load_dictionary
from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import (
    BusinessReject,
    BusinessRejectReason,
    SessionReject,
)
from system.gateways.fix.reasons import SessionRejectReason as R
from system.gateways.fix.store import MessageStore

log = logging.getLogger("chronex.fix")

ADMIN_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
Value = str | bytes | int


@dataclass(frozen=True, slots=True)
class SessionID:
    """A session from our side: we are ``sender_comp_id``."""

    begin_string: str
    sender_comp_id: str
    target_comp_id: str

    def __str__(self) -> str:
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"


class Application(Protocol):
    """What the session layer calls (QuickFIX style). Sequence numbers, resends, heartbeats and the
    store belong to the session; the application sees logons, logouts and in-sequence, validated
    application messages (PossDup resends included: 43=Y tells them apart). ``from_app`` may raise
    ``BusinessReject`` (answered with 35=j) or ``SessionReject`` (answered with 35=3)."""

    def on_logon(self, session: FixSession) -> None: ...
    def on_logout(self, session: FixSession) -> None: ...
    def from_app(self, msg: FixMessage, session: FixSession) -> None: ...


class Link(Protocol):
    """Where a session's frames go: a socket connection, or a list in tests. ``send_frame`` may
    batch; the link flushes the session's store before the bytes reach the wire."""

    def send_frame(self, raw: bytes, seq: int, msg_type: str) -> None: ...
    def close(self) -> None: ...


class State(Enum):
    DISCONNECTED = "disconnected"
    LOGON_SENT = "logon-sent"  # initiator, waiting for the Logon reply
    ACTIVE = "active"
    LOGOUT_SENT = "logout-sent"


class FixSession:
    """One FIX session (a CompID pair), alive across connections; its store keeps the numbers."""

    def __init__(
        self,
        settings: SessionSettings,
        app: Application,
        clock: Clock,
        store: MessageStore,
        *,
        timer_clock: Clock | None = None,
        dictionary: Dictionary | None = None,
        initiator: bool = False,
    ) -> None:
        self.settings = settings
        self.session_id = SessionID(settings.begin_string, settings.sender_comp_id, settings.target_comp_id)
        self.app = app
        self.clock = clock
        self.timer_clock = timer_clock if timer_clock is not None else clock
        self.store = store
        self.dictionary = dictionary if dictionary is not None else load_dictionary()
        self.initiator = initiator
        self.state = State.DISCONNECTED
        self.link: Link | None = None
        self.heartbeat_ns = settings.heartbeat_s * NS_PER_SECOND
        self.close_reason = ""
        self._begin = settings.begin_string.encode()
        self._sender_id = settings.sender_comp_id.encode()
        self._target_id = settings.target_comp_id.encode()
        self._sender_part = b"49=%s\x0152=" % settings.sender_comp_id.encode()
        self._target_part = b"\x0156=%s\x01" % settings.target_comp_id.encode()
        self._queue: dict[int, tuple[FixMessage, bool]] = {}
        self._resend_until: int | None = None  # highest seq our outstanding ResendRequest covers (0: all)
        self._test_request_pending = False
        self._last_sent = 0
        self._last_recv = 0
        self._state_since = 0
        self._reset_requested = False
        self.duplicates_ignored = 0  # PossDup copies of messages already processed (since a reset)

    # -- status ---------------------------------------------------------------------------------------
    @property
    def logged_on(self) -> bool:
        return self.state is State.ACTIVE

    @property
    def connected(self) -> bool:
        return self.link is not None

    def __repr__(self) -> str:
        return f"FixSession({self.session_id}, {self.state.value})"

    # -- sending --------------------------------------------------------------------------------------
    def send(self, msg_type: str, body: list[tuple[int, Value]]) -> int:
        """Stamp the header (seq, comp ids, SendingTime from the session's clock), store, write.

        Returns the MsgSeqNum. While disconnected the message is stored all the same and reaches
        the peer through its ResendRequest after the next logon (FIX guaranteed delivery).
        """
        return self.send_encoded(msg_type, encode_fields(body))

    def send_encoded(self, msg_type: str, body: bytes) -> int:
        """``send`` with the body already ``tag=value<SOH>`` bytes (the caller vouches that no
        value holds SOH): the ExecutionReport path builds most of its body once per order."""
        seq = self.store.next_sender_seq
        payload = b"35=%s\x0134=%d\x01%s%s%s%s" % (
            msg_type.encode(),
            seq,
            self._sender_part,
            format_timestamp(self.clock.now_ns()),
            self._target_part,
            body,
        )
        raw = frame(self._begin, payload)
        self.store.save(seq, raw)
        link = self.link
        if link is not None:
            link.send_frame(raw, seq, msg_type)
            self._last_sent = self.timer_clock.now_ns()
        return seq

    def _send_resent(self, seq: int, msg_type: str, body: bytes, orig_time: bytes) -> None:
        """A PossDup copy of message ``seq`` (or a GapFill) without touching the store's numbers."""
        payload = b"35=%s\x0134=%d\x0143=Y\x01%s%s%s%s" % (
            msg_type.encode(),
            seq,
            self._sender_part,
            format_timestamp(self.clock.now_ns()),
            self._target_part[:-1] + b"\x01122=" + orig_time + b"\x01",
            body,
        )
        if self.link is not None:
            self.link.send_frame(frame(self._begin, payload), seq, msg_type)
            self._last_sent = self.timer_clock.now_ns()

    def reset_outbound(self, new_seq: int) -> None:
        """SequenceReset-Reset: our next MsgSeqNum becomes ``new_seq`` (an operator's last resort,
        FIX test case 9). Only forward."""
        if new_seq <= self.store.next_sender_seq:
            raise ValueError(
                f"NewSeqNo {new_seq} must exceed the next MsgSeqNum {self.store.next_sender_seq}"
            )
        self.send("4", [(36, new_seq), (123, "N")])
        self.store.set_next_sender_seq(new_seq)

    def logout(self, text: str = "") -> None:
        """Start a logout: send Logout and wait (``logout_timeout_s``) for the peer's reply."""
        if self.state is State.ACTIVE or self.state is State.LOGON_SENT:
            self.send("5", [(58, text)] if text else [])
            self._set_state(State.LOGOUT_SENT)

    def disconnect(self, reason: str) -> None:
        """Drop the connection now (after writing what is queued)."""
        self._disconnect(reason)

    # -- connection lifecycle ----------------------------------------------------------------------------
    def attach(self, link: Link) -> None:
        if self.link is not None:
            raise RuntimeError(f"session {self.session_id} already has a connection")
        self.link = link
        now = self.timer_clock.now_ns()
        self._last_recv = self._last_sent = now
        self._queue.clear()
        self._resend_until = None
        self._test_request_pending = False

    def start_logon(self, *, reset: bool | None = None) -> None:
        """Initiator: send Logon (141=Y when resetting) and wait for the reply."""
        reset = self.settings.reset_on_logon if reset is None else reset
        if reset:
            self.store.reset()
            self.duplicates_ignored = 0
        self._reset_requested = reset
        self._set_state(State.LOGON_SENT)
        body: list[tuple[int, Value]] = [(98, 0), (108, self.settings.heartbeat_s)]
        if reset:
            body.append((141, "Y"))
        if self.settings.username is not None:
            body += [(553, self.settings.username), (554, self.settings.password or "")]
        self.send("A", body)

    def connection_lost(self) -> None:
        """The link went away (peer closed, network error)."""
        if self.link is not None:
            self._disconnect("connection lost", close_link=False)

    def _set_state(self, state: State) -> None:
        self.state = state
        self._state_since = self.timer_clock.now_ns()

    def _disconnect(self, reason: str, *, close_link: bool = True) -> None:
        was_on = self.state in (State.ACTIVE, State.LOGOUT_SENT)
        link = self.link
        self.link = None
        self.close_reason = reason
        self._set_state(State.DISCONNECTED)
        self._queue.clear()
        self.store.flush()
        log.info("%s disconnected: %s", self.session_id, reason)
        if link is not None and close_link:
            link.close()
        if was_on:
            self.app.on_logout(self)

    # -- timers --------------------------------------------------------------------------------------
    def on_timer(self) -> None:
        """Heartbeat, TestRequest and timeouts (on the timer clock). Call often (every ~100 ms)."""
        if self.link is None:
            return
        now = self.timer_clock.now_ns()
        state = self.state
        if state is State.LOGON_SENT:
            if now - self._state_since >= self.settings.logon_timeout_s * NS_PER_SECOND:
                self._disconnect("no Logon reply")
            return
        if state is State.LOGOUT_SENT:
            if now - self._state_since >= self.settings.logout_timeout_s * NS_PER_SECOND:
                self._disconnect("no Logout reply")
            return
        hb = self.heartbeat_ns
        if state is not State.ACTIVE or hb <= 0:
            return
        silent = now - self._last_recv
        if silent >= hb * 12 // 5:
            self._disconnect("peer silent for 2.4 x HeartBtInt")
            return
        if silent >= hb * 6 // 5 and not self._test_request_pending:
            self._test_request_pending = True
            self.send("1", [(112, "TEST")])
        if now - self._last_sent >= hb and not self._test_request_pending:
            # While a TestRequest is out, its answer is awaited rather than heartbeats sent (QuickFIX).
            self.send("0", [])

    # -- receiving -----------------------------------------------------------------------------------
    def on_frames(self, frames: list[bytes | Garbled]) -> None:
        for raw in frames:
            if self.link is None:
                return
            self.on_frame(raw)

    def on_frame(self, raw: bytes | Garbled) -> None:
        """One framed message from the peer (or a garbled chunk)."""
        if isinstance(raw, Garbled):
            self._garbled(raw.reason)
            return
        try:
            msg = parse(raw)
        except GarbledError as e:
            self._garbled(str(e))
            return
        fields = msg.fields
        if len(fields) < 4 or fields[2][0] != 35:
            self._garbled("MsgType is not the third field")
            return
        self._last_recv = self.timer_clock.now_ns()
        self._test_request_pending = False
        try:
            self._on_message(msg)
        except SessionReject as r:
            self._reject(msg, r)

    def _garbled(self, reason: str) -> None:
        if self.state is State.ACTIVE:
            log.info("%s ignored a garbled message: %s", self.session_id, reason)  # FIX: ignore it
        else:
            self._disconnect(f"garbled message before logon: {reason}")

    def on_logon_frame(self, msg: FixMessage) -> None:
        """Acceptor: the first message of a new connection, already known to be a Logon for us."""
        self._on_logon(msg)

    def _on_message(self, msg: FixMessage) -> None:
        mt = msg.msg_type
        if msg.fields[0][1] != self._begin:
            if self.state is State.ACTIVE:
                self.send("5", [(58, "Incorrect BeginString")])
            self._disconnect("incorrect BeginString")
            return
        if self.state is State.DISCONNECTED:
            self._disconnect("message before logon")
            return
        if self.state is State.LOGON_SENT:
            if mt != "A":
                self._disconnect(f"expected a Logon reply, got MsgType {mt}")
                return
            self._on_logon(msg)
            return
        seq = self._validate(msg)
        if seq is None:
            return
        if mt == "5":
            self._on_logout(msg, seq)
            return
        if mt == "4" and msg.get(123) != b"Y":
            self._on_sequence_reset(msg)
            return
        if mt == "A" and msg.get(141) == b"Y":
            self._on_logon(msg)
            return
        if not self._check_header(msg):
            return
        expected = self.store.next_target_seq
        if mt == "2":
            # Served whatever its MsgSeqNum: the peer may be waiting on it to fill our own gap (FIX 20).
            self._on_resend_request(msg)
            if seq == expected:
                self._process(msg, seq, served=True)
                self._drain()
            elif seq > expected:
                self._queue[seq] = (msg, True)
                self._request_resend(expected, seq)
            return
        if seq > expected:
            self._queue[seq] = (msg, False)
            self._request_resend(expected, seq)
            return
        possdup = msg.get(43) == b"Y"
        if possdup and not self._check_possdup(msg):
            return
        if seq < expected:
            if not possdup:
                text = f"MsgSeqNum too low, expecting {expected} but received {seq}"
                self.send("5", [(58, text)])
                self._disconnect(text)
            else:
                self.duplicates_ignored += 1
            return  # a duplicate already processed: ignored
        self._process(msg, seq, served=False)
        self._drain()

    def _validate(self, msg: FixMessage) -> int | None:
        """The message's seq if it passes the dictionary; otherwise Reject it and return None."""
        if self.settings.validate:
            try:
                self.dictionary.validate(msg)
            except SessionReject as r:
                self._reject(msg, r)
                seq = _int_or_none(msg.get(34))
                if seq is not None and seq == self.store.next_target_seq:
                    self.store.set_next_target_seq(seq + 1)
                    self._drain()
                return None
        seq = _int_or_none(msg.get(34))
        if seq is None:
            self._reject(msg, SessionReject(R.REQUIRED_TAG_MISSING, 34))
            return None
        return seq

    def _check_header(self, msg: FixMessage) -> bool:
        """CompIDs and SendingTime accuracy; a failure is a Reject and a Logout (FIX 4.4 2k, 2o)."""
        if not self._good_time(msg.get(52)):
            self._reject(msg, SessionReject(R.SENDING_TIME_ACCURACY_PROBLEM))
            self.logout()
            return False
        if msg.get(49) != self._target_id or msg.get(56) != self._sender_id:
            self._reject(msg, SessionReject(R.COMPID_PROBLEM))
            self.logout()
            return False
        return True

    def _good_time(self, value: bytes | None) -> bool:
        tolerance = self.settings.sending_time_tolerance_s
        if value is None:
            return False
        if tolerance <= 0:
            return True
        try:
            t = parse_timestamp(value)
        except ValueError:
            return False
        return abs(t - self.clock.now_ns()) <= tolerance * NS_PER_SECOND

    def _check_possdup(self, msg: FixMessage) -> bool:
        """A PossDup message needs OrigSendingTime no later than its SendingTime (FIX 2f, 2g)."""
        orig = msg.get(122)
        if orig is None:
            if msg.msg_type == "4":
                return True
            self._reject(msg, SessionReject(R.REQUIRED_TAG_MISSING, 122))
            return False
        sending = msg.get(52)
        try:
            too_late = sending is not None and parse_timestamp(orig) > parse_timestamp(sending)
        except ValueError:
            too_late = True
        if too_late:
            self._reject(msg, SessionReject(R.SENDING_TIME_ACCURACY_PROBLEM))
            self.logout()
            return False
        return True

    def _process(self, msg: FixMessage, seq: int, *, served: bool) -> None:
        """Handle an in-sequence message, then count it."""
        mt = msg.msg_type
        next_seq = seq + 1
        if served or mt == "0":
            pass
        elif mt == "1":
            self.send("0", [(112, msg.get(112) or b"")])
        elif mt == "2":
            self._on_resend_request(msg)
        elif mt == "3":
            pass
        elif mt == "4":  # GapFill (Reset mode never gets here)
            new_seq = _int_or_none(msg.get(36)) or 0
            if new_seq > next_seq:
                next_seq = new_seq
            elif new_seq < seq:
                self._reject(msg, SessionReject(R.VALUE_IS_INCORRECT, 36))
        elif mt == "A":
            pass  # a Logon repeated inside a live session changes nothing
        else:
            self._deliver(msg, seq)
        self.store.set_next_target_seq(next_seq)
        if self._resend_until is not None and self._resend_until != 0 and next_seq > self._resend_until:
            self._resend_until = None

    def _deliver(self, msg: FixMessage, seq: int) -> None:
        try:
            self.app.from_app(msg, self)
        except BusinessReject as b:
            body: list[tuple[int, Value]] = _reverse_route(msg)
            body += [(45, seq), (58, b.text), (372, msg.msg_type)]
            if b.ref_id is not None:
                body.append((379, b.ref_id))
            body.append((380, int(b.reason)))
            self.send("j", body)
        except SessionReject as r:
            self._reject(msg, r)
        except Exception as e:  # the session outlives an application bug; the peer hears of it
            log.exception("%s: application failed on MsgType %s seq %d", self.session_id, msg.msg_type, seq)
            self.send(
                "j",
                [
                    (45, seq),
                    (58, f"application error: {type(e).__name__}"),
                    (372, msg.msg_type),
                    (380, int(BusinessRejectReason.OTHER)),
                ],
            )

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            expected = self.store.next_target_seq
            for s in [s for s in queue if s < expected]:
                del queue[s]
            item = queue.pop(expected, None)
            if item is None:
                return
            msg, served = item
            if msg.msg_type == "5":
                self._on_logout(msg, expected)
                return
            self._process(msg, expected, served=served)
            if self.link is None:
                return

    def _request_resend(self, expected: int, received: int) -> None:
        if self._resend_until is not None and (self._resend_until == 0 or self._resend_until >= received - 1):
            return  # an outstanding request already covers the gap
        self._resend_until = 0
        self.send("2", [(7, expected), (16, 0)])

    def _reject(self, msg: FixMessage, r: SessionReject) -> None:
        ref = _int_or_none(msg.get(34))
        body: list[tuple[int, Value]] = _reverse_route(msg)
        body += [(45, ref if ref is not None else 0), (58, r.text)]
        if r.tag is not None:
            body.append((371, r.tag))
        if msg.msg_type:
            body.append((372, msg.msg_type))
        body.append((373, int(r.reason)))
        log.info("%s rejects seq %s: %s", self.session_id, ref, r)
        self.send("3", body)

    # -- admin messages -------------------------------------------------------------------------------
    def _on_logon(self, msg: FixMessage) -> None:
        """A Logon: the acceptor's first message, the initiator's reply, or a reset (141=Y)."""
        if self.settings.validate:
            try:
                self.dictionary.validate(msg)
            except SessionReject as r:
                self._disconnect(f"invalid Logon: {r}")
                return
        seq = _int_or_none(msg.get(34)) or 0
        if not self._good_time(msg.get(52)):
            self._disconnect("Logon SendingTime out of range")
            return
        hbi = _int_or_none(msg.get(108))
        if hbi is None or hbi < 0:
            self._disconnect("Logon without a valid HeartBtInt")
            return
        reset = msg.get(141) == b"Y"
        if msg.get(98) != b"0":
            self.send("5", [(58, f"EncryptMethod {msg.get_str(98)} is not supported")])
            self._disconnect("encryption requested")
            return
        if not self.initiator:
            s = self.settings
            if s.username is not None and (msg.get_str(553) != s.username or msg.get_str(554) != s.password):
                self.send("5", [(58, "Invalid username or password")])
                self._disconnect("bad credentials")
                return
            was_active = self.state is State.ACTIVE
            if reset or (s.reset_on_logon and not was_active):
                self.store.reset()
                self.duplicates_ignored = 0
            self.heartbeat_ns = hbi * NS_PER_SECOND
            expected = self.store.next_target_seq
            if seq < expected:
                text = f"MsgSeqNum too low, expecting {expected} but received {seq}"
                self.send("5", [(58, text)])
                self._disconnect(text)
                return
            reply: list[tuple[int, Value]] = [(98, 0), (108, hbi)]
            if reset:
                reply.append((141, "Y"))
            self._set_state(State.ACTIVE)
            self.send("A", reply)
            log.info(
                "%s logged on (peer seq %d, our next %d)", self.session_id, seq, self.store.next_sender_seq
            )
            if not was_active:
                self.app.on_logon(self)
        else:
            if reset and not self._reset_requested:
                # The acceptor reset: our next outgoing seq is 2 (its Logon was 1 on its side).
                self.store.set_next_sender_seq(2)
            self._reset_requested = False
            self.heartbeat_ns = self.settings.heartbeat_s * NS_PER_SECOND
            expected = self.store.next_target_seq
            if seq < expected:
                text = f"MsgSeqNum too low, expecting {expected} but received {seq}"
                self.send("5", [(58, text)])
                self._disconnect(text)
                return
            self._set_state(State.ACTIVE)
            self.app.on_logon(self)
        expected = self.store.next_target_seq
        if seq > expected:
            self._request_resend(expected, seq)
        else:
            self.store.set_next_target_seq(seq + 1)

    def _on_logout(self, msg: FixMessage, seq: int) -> None:
        if seq == self.store.next_target_seq:
            self.store.set_next_target_seq(seq + 1)
        if self.state is State.LOGOUT_SENT:
            self._disconnect("logout confirmed")
            return
        self.send("5", [])
        self._disconnect("peer logged out" + (f": {msg.get_str(58)}" if 58 in msg else ""))

    def _on_sequence_reset(self, msg: FixMessage) -> None:
        """SequenceReset-Reset: MsgSeqNum is ignored; NewSeqNo may only move forward (FIX 11a-c)."""
        new_seq = _int_or_none(msg.get(36)) or 0
        expected = self.store.next_target_seq
        if new_seq > expected:
            self.store.set_next_target_seq(new_seq)
            self._drain()
        elif new_seq < expected:
            self._reject(msg, SessionReject(R.VALUE_IS_INCORRECT))

    def _on_resend_request(self, msg: FixMessage) -> None:
        begin = _int_or_none(msg.get(7)) or 1
        end = _int_or_none(msg.get(16)) or 0
        last = self.store.next_sender_seq - 1
        if end == 0 or end > last:
            end = last
        if begin < 1:
            begin = 1
        if begin > end:
            # Nothing of ours in that range: tell the peer where we are.
            if begin <= last + 1:
                self._gap_fill(begin, last + 1)
            return
        stored = dict(self.store.get(begin, end))
        header = self.dictionary.header
        gap_start: int | None = None
        for seq in range(begin, end + 1):
            raw = stored.get(seq)
            msg_type, body, orig = _split_stored(raw, header) if raw is not None else ("", b"", b"")
            if raw is None or msg_type in ADMIN_TYPES:
                if gap_start is None:
                    gap_start = seq
                continue
            if gap_start is not None:
                self._gap_fill(gap_start, seq)
                gap_start = None
            self._send_resent(seq, msg_type, body, orig)
        if gap_start is not None:
            self._gap_fill(gap_start, end + 1)

    def _gap_fill(self, seq: int, new_seq: int) -> None:
        now = format_timestamp(self.clock.now_ns())
        self._send_resent(seq, "4", encode_fields([(36, new_seq), (123, "Y")]), now)


def _split_stored(raw: bytes, header: frozenset[int]) -> tuple[str, bytes, bytes]:
    """MsgType, body bytes and SendingTime of a stored message."""
    msg = parse(raw)
    body = [(t, v) for t, v in msg.fields if t not in header and t not in (10, 93, 89)]
    return msg.msg_type, encode_fields(body), msg.get(52) or b""


# OnBehalfOf* <-> DeliverTo*: a reject goes back along the route its message came by.
_REVERSE_ROUTE = {115: 128, 128: 115, 116: 129, 129: 116, 144: 145, 145: 144}


def _reverse_route(msg: FixMessage) -> list[tuple[int, Value]]:
    """The routing header of an answer to ``msg`` (header tags, so they sort ahead of the body)."""
    out: list[tuple[int, Value]] = []
    for tag, back in _REVERSE_ROUTE.items():
        value = msg.get(tag)
        if value:
            out.append((back, value))
    out.sort(key=lambda f: f[0])
    return out


def _int_or_none(v: bytes | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None
