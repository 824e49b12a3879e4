"""Source files -> timed FIX messages: message logs, QuickFIX message stores and captures.

Formats, told apart by their content (not their names):

- message/event logs, one message a line behind a timestamp: QuickFIX's FileLog
  (``20270104-00:00:01.123 : 8=FIX.4.4<SOH>...``), QuickFIX/J's (``...123: 8=FIX...``) and raw logs
  with ISO timestamps, the fields separated by SOH or ``|``. Lines without ``8=FIX`` (event log
  text, blank lines) are skipped; a line with no timestamp before the message takes SendingTime.
- QuickFIX file stores: ``NAME.body`` (the sent messages, back to back) indexed by ``NAME.header``
  (``seqnum,offset,size`` entries); each message's time is its SendingTime (52).
- pcap and pcapng captures (``system.ingest.pcap``): FIX over TCP; ITCH 5.0 over SoupBinTCP and
  MoldUDP64, kept as what production published.

Every message is framed and checked (BodyLength, CheckSum) by the FIX gateway's own codec; a
message that fails is an ``IngestError`` naming the file and the line, store entry or frame.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from system.gateways.fix.codec import Framer, Garbled, GarbledError, parse, parse_timestamp
from system.gateways.fix.message import FixMessage
from system.ingest.errors import IngestError

_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

# A timestamp ahead of the message: FIX (20270104-09:00:00.123) or ISO 8601 (2027-01-04T09:00:00Z).
_STAMP = re.compile(
    rb"(\d{4})-?(\d{2})-?(\d{2})[-T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class Captured:
    """One FIX message from a source, with when it was recorded (ns since the epoch, UTC)."""

    time: int
    msg: FixMessage
    where: str  # "day.log:12", "X.body entry 3", "day.pcap frame 7"


@dataclass(frozen=True)
class FeedCaptured:
    """One ITCH message from a capture: its feed session and sequence number, and when it was seen."""

    time: int
    channel: str  # "soup" or "mold"
    session: str
    seq: int
    raw: bytes
    where: str


@dataclass(frozen=True)
class Source:
    """A file read: its name, content hash, format and messages (in file order)."""

    name: str
    sha256: str
    format: str
    messages: list[Captured]
    feed: list[FeedCaptured] = field(default_factory=list)


def read_source(path: Path) -> Source:
    """Read one file, whichever of the formats it is; ``IngestError`` if it is none or is broken."""
    if path.is_dir():
        raise IngestError(f"{path}: is a folder (give the files in it)")
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    name = path.name
    if data[:4] in _PCAP_MAGICS or data[:4] == _PCAPNG_MAGIC:
        from system.ingest.pcap import read_pcap

        fix, feed = read_pcap(data, name)
        return Source(name, digest, "pcap", fix, feed)
    if path.suffix in (".body", ".header"):
        body, header = path.with_suffix(".body"), path.with_suffix(".header")
        if not body.is_file() or not header.is_file():
            raise IngestError(f"{path}: a QuickFIX store needs both {body.name} and {header.name}")
        body_data = body.read_bytes()
        digest = hashlib.sha256(body_data + b"\0" + header.read_bytes()).hexdigest()
        return Source(
            body.name, digest, "quickfix-store", read_store(body_data, header.read_text("latin-1"), body.name)
        )
    if b"8=FIX" not in data:
        raise IngestError(f"{name}: not a FIX log, QuickFIX store or capture (no 8=FIX in it)")
    return Source(name, digest, "fix-log", read_log(data, name))


def read_log(data: bytes, name: str) -> list[Captured]:
    """A message log: one message a line, after its timestamp."""
    out: list[Captured] = []
    for n, line in enumerate(data.split(b"\n"), 1):
        start = line.find(b"8=FIX")
        if start < 0:
            continue
        where = f"{name}:{n}"
        raw = line[start:].rstrip(b"\r")
        if b"\x01" not in raw:
            raw = raw.replace(b"|", b"\x01")
        if not raw.endswith(b"\x01"):
            raw += b"\x01"  # a trailing separator dropped by the logger
        msg = frame_one(raw, where)
        out.append(Captured(_line_time(line[:start], msg, where), msg, where))
    return out


def read_store(body: bytes, header: str, name: str) -> list[Captured]:
    """A QuickFIX FileStore: ``header`` holds ``seqnum,offset,size`` for each message in ``body``."""
    out: list[Captured] = []
    for i, entry in enumerate(header.split(), 1):
        where = f"{name} entry {i}"
        try:
            _seq, offset, size = (int(x) for x in entry.split(","))
        except ValueError:
            raise IngestError(f"{where}: header entry {entry!r} is not seqnum,offset,size") from None
        if offset < 0 or size <= 0 or offset + size > len(body):
            raise IngestError(f"{where}: offset {offset} size {size} lies outside the body file")
        msg = frame_one(body[offset : offset + size], where)
        out.append(Captured(_sending_time(msg, where), msg, where))
    return out


def frame_one(raw: bytes, where: str) -> FixMessage:
    """Exactly one well-formed FIX message in ``raw`` (else ``IngestError`` naming ``where``)."""
    framer = Framer()
    frames = framer.feed(raw)
    if len(frames) != 1 or framer.pending():
        bad = next((f for f in frames if isinstance(f, Garbled)), None)
        if bad is not None:
            why = bad.reason
        elif not frames:
            why = "incomplete message (BodyLength or the trailer runs past its end)"
        else:
            why = "more than one FIX message where one was expected"
        raise IngestError(f"{where}: {why}")
    f = frames[0]
    if isinstance(f, Garbled):
        raise IngestError(f"{where}: {f.reason}")
    return parse_message(f, where)


def parse_message(raw: bytes, where: str) -> FixMessage:
    try:
        msg = parse(raw)
    except GarbledError as e:
        raise IngestError(f"{where}: {e}") from None
    if msg.msg_type is None:
        raise IngestError(f"{where}: no MsgType (35)")
    return msg


def _sending_time(msg: FixMessage, where: str) -> int:
    v = msg.get(52)
    if v is None:
        raise IngestError(f"{where}: no timestamp before the message and no SendingTime (52)")
    try:
        return parse_timestamp(v)
    except ValueError:
        raise IngestError(f"{where}: SendingTime {v.decode('latin-1')!r} is not a UTCTimestamp") from None


def _line_time(prefix: bytes, msg: FixMessage, where: str) -> int:
    m = _STAMP.search(prefix)
    if m is None:
        return _sending_time(msg, where)
    y, mo, d, hh, mm, ss, frac, zone = m.groups()
    tz = UTC
    if zone and zone != b"Z":
        z = zone.decode().replace(":", "")
        sign = -1 if z[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(z[1:3]), minutes=int(z[3:5])))
    try:
        dt = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss), tzinfo=tz)
    except ValueError:
        raise IngestError(f"{where}: timestamp {m.group(0).decode()!r} is not a valid time") from None
    ns = int(frac.ljust(9, b"0")) if frac else 0
    return int(dt.timestamp()) * 1_000_000_000 + ns


def iter_sources(paths: list[Path]) -> Iterator[Source]:
    for p in paths:
        yield read_source(p)
