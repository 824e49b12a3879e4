"""FIX tag=value framing, parsing and encoding: the gateway's hot path, written by hand.

Framing follows BodyLength and CheckSum. A frame whose declared length does not land on the
trailer is resynchronised the way QuickFIX does it (the chunk up to the next ``<SOH>10=`` is one bad
frame), so a peer that miscounts loses that message and not the stream. Nothing here allocates
per byte; a read of many messages is split with a few ``bytes.find`` calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zlib import adler32

from system.clock import NS_PER_MS, NS_PER_SECOND
from system.gateways.fix.message import FixMessage

try:  # the plain cases' split and join in C (_fields.c); codec's own loops where not built
    from system.gateways.fix._fields import join as _join_plain
    from system.gateways.fix._fields import split as _split_plain
except ImportError:
    _split_plain = None  # type: ignore[assignment]
    _join_plain = None  # type: ignore[assignment]

SOH = b"\x01"
_TRAILER_LEN = 7  # "10=ddd<SOH>"
DEFAULT_MAX_BODY = 1 << 20


class Garbled:
    """A chunk of input that is not a well-formed FIX frame. The session ignores it once logged
    on (FIX: a garbled message is dropped without a Reject) and disconnects before."""

    __slots__ = ("raw", "reason")

    def __init__(self, raw: bytes, reason: str) -> None:
        self.raw = raw
        self.reason = reason

    def __repr__(self) -> str:
        return f"Garbled({self.reason!r}, {self.raw[:40]!r})"


class GarbledError(ValueError):
    """Raised by ``parse`` for a frame whose fields are not ``tag=value``."""


class Framer:
    """Splits a byte stream into FIX frames.

    ``feed`` returns, in stream order, each complete frame as ``bytes`` (BodyLength and CheckSum
    verified) or as ``Garbled``. Incomplete input is kept for the next call. A declared BodyLength
    above ``max_body`` is garbled at once instead of being waited for, so a huge length cannot make
    the reader buffer without bound.
    """

    def __init__(self, max_body: int = DEFAULT_MAX_BODY) -> None:
        self._buf = bytearray()
        self.max_body = max_body

    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Garbled]:
        buf = self._buf
        buf += data
        out: list[bytes | Garbled] = []
        pos = 0
        n = len(buf)
        while pos < n:
            if buf[pos : pos + 5] != b"8=FIX":
                if n - pos < 5 and b"8=FIX".startswith(buf[pos:n]):
                    break  # perhaps the start of the next frame
                nxt = self._resync(buf, pos)
                if nxt < 0:
                    # Keep a tail that may be the start of the next frame ("8=FI...").
                    keep = max(pos, n - 4)
                    if keep > pos:
                        out.append(Garbled(bytes(buf[pos:keep]), "no BeginString"))
                    pos = keep
                    break
                out.append(Garbled(bytes(buf[pos:nxt]), "no BeginString"))
                pos = nxt
                continue
            soh1 = buf.find(SOH, pos)
            if soh1 < 0:
                if n - pos > 64:
                    out.append(Garbled(bytes(buf[pos:]), "BeginString too long"))
                    pos = n
                break
            if n < soh1 + 3:
                break
            if buf[soh1 + 1 : soh1 + 3] != b"9=":
                pos = self._skip(buf, pos, out, "BodyLength is not the second field")
                continue
            soh2 = buf.find(SOH, soh1 + 3, soh1 + 3 + 12)
            if soh2 < 0:
                if n - (soh1 + 3) >= 12:
                    pos = self._skip(buf, pos, out, "BodyLength is not a number")
                    continue
                break
            digits = bytes(buf[soh1 + 3 : soh2])
            if not digits.isdigit():
                pos = self._skip(buf, pos, out, "BodyLength is not a number")
                continue
            length = int(digits)
            if length > self.max_body:
                pos = self._skip(buf, pos, out, f"BodyLength {length} exceeds {self.max_body}")
                continue
            end = soh2 + 1 + length
            if n < end + _TRAILER_LEN:
                break
            if buf[end : end + 3] == b"10=" and buf[end + 6] == 1 and buf[end - 1] == 1 and length > 0:
                stop = end + _TRAILER_LEN
                raw = bytes(buf[pos:stop])
                digits = raw[-4:-1]
                if digits.isdigit() and int(digits) == checksum(memoryview(raw)[: end - pos]):
                    out.append(raw)
                else:
                    out.append(Garbled(raw, "CheckSum does not match"))
                pos = stop
                continue
            # The length did not land on the trailer: the bad frame runs to the next "<SOH>10=...<SOH>".
            t = buf.find(b"\x0110=", end - 1 if end > soh2 + 1 else soh2)
            if t < 0:
                if n - pos > self.max_body + 64:
                    pos = self._skip(buf, pos, out, "no CheckSum within BodyLength bound")
                    continue
                break
            tend = buf.find(SOH, t + 4)
            if tend < 0:
                break
            out.append(Garbled(bytes(buf[pos : tend + 1]), "BodyLength does not match"))
            pos = tend + 1
        if pos:
            del buf[:pos]
        return out

    @staticmethod
    def _resync(buf: bytearray, pos: int) -> int:
        """The start of the next frame at or after ``pos``, or -1."""
        return buf.find(b"8=FIX", pos)

    def _skip(self, buf: bytearray, pos: int, out: list[bytes | Garbled], reason: str) -> int:
        nxt = self._resync(buf, pos + 1)
        stop = len(buf) if nxt < 0 else nxt
        out.append(Garbled(bytes(buf[pos:stop]), reason))
        return stop


# Tag text -> number for the tags seen so far: a dict lookup instead of isdigit() and int() per
# field. Bounded, so a peer sending endless distinct tags cannot grow it.
_TAG_NUMBERS: dict[bytes, int] = {}
_MAX_TAG_NUMBERS = 4096


def parse(raw: bytes) -> FixMessage:
    """The fields of one framed message, in order. Tags may be negative or zero (the validator
    rejects them by number); a field that is not ``digits=value`` makes the frame garbled."""
    if _split_plain is not None:
        plain = _split_plain(raw)
        if plain is not None:
            return FixMessage(plain)
    parts = raw.split(SOH)
    if parts[-1]:
        raise GarbledError("message does not end with SOH")
    del parts[-1]
    number = _TAG_NUMBERS.get
    split = [part.partition(b"=") for part in parts]
    fields = [(number(tag, -(1 << 62)), value) for tag, sep, value in split if sep]
    if len(fields) != len(split) or any(t == -(1 << 62) for t, _ in fields):
        fields = _parse_slow(split)  # an unseen tag, or a field without '='
    return FixMessage(fields)


def _parse_slow(split: list[tuple[bytes, bytes, bytes]]) -> list[tuple[int, bytes]]:
    fields: list[tuple[int, bytes]] = []
    for tag, sep, value in split:
        if not sep or not tag:
            raise GarbledError(f"field {(tag + sep + value)[:20]!r} is not tag=value")
        if tag.isdigit() or (tag[:1] == b"-" and tag[1:].isdigit()):
            n = int(tag)  # negative and zero tags parse: the validator rejects them by number (FIX 14a)
            if len(_TAG_NUMBERS) < _MAX_TAG_NUMBERS:
                _TAG_NUMBERS[tag] = n
            fields.append((n, value))
        else:
            raise GarbledError(f"tag {tag[:20]!r} is not a number")
    return fields


def encode_fields(fields: Iterable[tuple[int, str | bytes | int]]) -> bytes:
    """``tag=value<SOH>`` for each field. A value holding SOH would break framing: refused."""
    fields = fields if isinstance(fields, list) else list(fields)
    if _join_plain is not None:
        plain = _join_plain(fields)
        if plain is not None:
            return plain
    # One str join and one encode beat per-field bytes %-formatting about two to one.
    text = "".join([f"{t}={v.decode('latin-1') if type(v) is bytes else str(v)}\x01" for t, v in fields])
    if text.count("\x01") != len(fields):
        for tag, value in fields:
            if "\x01" in (value.decode("latin-1") if isinstance(value, bytes) else str(value)):
                raise ValueError(f"value of tag {tag} contains SOH")
    return text.encode("latin-1")


def frame(begin_string: bytes, payload: bytes) -> bytes:
    """Wrap ``payload`` (35= onwards, SOH-terminated) in BeginString, BodyLength and CheckSum."""
    msg = b"8=%s\x019=%d\x01%s" % (begin_string, len(payload), payload)
    return msg + b"10=%03d\x01" % checksum(msg)


def encode(begin_string: str, fields: Iterable[tuple[int, str | bytes | int]]) -> bytes:
    """A whole message from its fields after BodyLength (MsgType first)."""
    return frame(begin_string.encode("latin-1"), encode_fields(fields))


def checksum(data: bytes | memoryview) -> int:
    """The FIX CheckSum: the byte sum modulo 256.

    Computed through zlib's Adler-32, whose low half is 1 + the byte sum modulo 65521: for at most
    256 bytes the sum (<= 65280) never wraps, so it is exact, and C-speed where ``sum`` walks the
    bytes one Python int at a time (about ten times slower on a NewOrderSingle).
    """
    n = len(data)
    if n <= 256:
        return ((adler32(data) & 0xFFFF) - 1) & 0xFF
    view = memoryview(data)
    total = 0
    for i in range(0, n, 256):
        total += (adler32(view[i : i + 256]) & 0xFFFF) - 1
    return total & 0xFF


# -- timestamps --------------------------------------------------------------------------------


class TimestampFormatter:
    """UTCTimestamp text with milliseconds, caching the date and time of the current second."""

    __slots__ = ("_prefix", "_sec")

    def __init__(self) -> None:
        self._sec = -1
        self._prefix = b""

    def __call__(self, t_ns: int) -> bytes:
        sec, rem = divmod(t_ns, NS_PER_SECOND)
        if sec != self._sec:
            self._sec = sec
            self._prefix = datetime.fromtimestamp(sec, UTC).strftime("%Y%m%d-%H:%M:%S").encode()
        return b"%s.%03d" % (self._prefix, rem // NS_PER_MS)


format_timestamp = TimestampFormatter()


_last_second: tuple[bytes, int] = (b"", 0)
_FRACTION_SCALE = {3: 1_000_000, 6: 1_000, 9: 1}


def parse_timestamp(value: bytes) -> int:
    """Nanoseconds for ``YYYYMMDD-HH:MM:SS[.sss[sss[sss]]]``; ValueError for anything else."""
    global _last_second
    prefix, seconds = _last_second
    if value[:17] == prefix:  # the common case: many messages within one second
        frac = value[17:]
        if not frac:
            return seconds
        digits = frac[1:]
        scale = _FRACTION_SCALE.get(len(digits))
        if frac[:1] == b"." and digits.isdigit() and scale is not None:
            return seconds + int(digits) * scale
        raise ValueError(f"{value!r} is not a UTCTimestamp")
    ns = _parse_timestamp(value)
    _last_second = (value[:17], ns - ns % NS_PER_SECOND)
    return ns


def _parse_timestamp(value: bytes) -> int:
    if len(value) < 17 or value[8:9] != b"-" or value[11:12] != b":" or value[14:15] != b":":
        raise ValueError(f"{value!r} is not a UTCTimestamp")
    date, hh, mm, ss = value[:8], value[9:11], value[12:14], value[15:17]
    frac = value[17:]
    if not (date.isdigit() and hh.isdigit() and mm.isdigit() and ss.isdigit()):
        raise ValueError(f"{value!r} is not a UTCTimestamp")
    ns = 0
    if frac:
        digits = frac[1:]
        if frac[:1] != b"." or not digits.isdigit() or len(digits) not in (3, 6, 9):
            raise ValueError(f"{value!r} is not a UTCTimestamp")
        ns = int(digits) * 10 ** (9 - len(digits))
    second = int(ss)
    if second > 60:
        raise ValueError(f"{value!r} is not a UTCTimestamp")
    dt = datetime(
        int(date[:4]), int(date[4:6]), int(date[6:8]), int(hh), int(mm), min(second, 59), tzinfo=UTC
    )
    return int(dt.timestamp()) * NS_PER_SECOND + ns
