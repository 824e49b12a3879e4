"""FIX and ITCH from a pcap or pcapng capture (dpkt): TCP streams reassembled, messages framed.

Each TCP direction is reassembled by sequence number: retransmitted bytes are dropped, segments
that arrive early wait for the gap to fill. A stream is told by its first bytes: ``8=FIX`` is FIX;
a SoupBinTCP server packet (Login Accepted, Sequenced Data...) is an ITCH feed, whose sequenced
messages are decoded with Chronex's own ITCH layouts; anything else (the client side of a feed, an
admin channel) is left out. UDP datagrams that unpack as MoldUDP64 are an ITCH feed too. A
message's time is the capture time of the packet that completed it, to the microsecond (the
resolution tshark writes by default).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import dpkt

from system.gateways.fix.codec import Framer, Garbled
from system.gateways.itch import mold
from system.gateways.itch.messages import BadMessage, decode
from system.ingest.errors import IngestError
from system.ingest.sources import Captured, FeedCaptured, parse_message

_SOUP_SERVER = frozenset(b"AJSH+Z")

_ETHERNET, _NULL, _LOOP, _RAW, _RAW_ALT, _SLL, _SLL2 = 1, 0, 108, 101, 12, 113, 276


@dataclass
class _Stream:
    next_seq: int | None = None
    early: dict[int, tuple[bytes, int, int]] = field(default_factory=dict)  # seq -> (data, frame, time)
    framer: Framer = field(default_factory=Framer)
    kind: str = ""  # "fix", "soup", "other"; "" until the first bytes tell
    head: bytes = b""  # the stream's first bytes, until there are enough to know
    soup: bytearray = field(default_factory=bytearray)
    soup_session: str = ""
    soup_seq: int = 0


def read_pcap(data: bytes, name: str) -> tuple[list[Captured], list[FeedCaptured]]:
    """Every FIX message and every ITCH message in the capture, in the order captured."""
    try:
        reader = (dpkt.pcapng.Reader if data[:4] == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader)(
            io.BytesIO(data)
        )
        link = reader.datalink()
    except (ValueError, dpkt.dpkt.Error) as e:
        raise IngestError(f"{name}: not a readable capture ({e})") from None
    streams: dict[tuple[bytes, int, bytes, int], _Stream] = {}
    out: list[Captured] = []
    feed: list[FeedCaptured] = []
    frame = 0
    it = iter(reader)
    while True:
        try:
            ts, buf = next(it)
        except StopIteration:
            break
        except (ValueError, dpkt.dpkt.Error) as e:
            raise IngestError(f"{name} frame {frame + 1}: truncated or unreadable ({e})") from None
        frame += 1
        t = round(ts * 1_000_000) * 1000
        ip = _ip(link, buf, name, frame)
        if ip is None:
            continue
        if isinstance(ip.data, dpkt.udp.UDP):
            _mold(bytes(ip.data.data), t, f"{name} frame {frame}", feed)
            continue
        if not isinstance(ip.data, dpkt.tcp.TCP):
            continue
        tcp = ip.data
        want = (ip.len - ip.hl * 4 if isinstance(ip, dpkt.ip.IP) else ip.plen) - tcp.off * 4
        if len(tcp.data) < want:
            raise IngestError(
                f"{name} frame {frame}: captured {len(tcp.data)} of its {want} TCP payload bytes "
                "(a truncated capture, or a snap length too short)"
            )
        key = (bytes(ip.src), tcp.sport, bytes(ip.dst), tcp.dport)
        s = streams.setdefault(key, _Stream())
        if tcp.flags & dpkt.tcp.TH_SYN:
            s.next_seq = (tcp.seq + 1) & 0xFFFFFFFF
            continue
        payload = bytes(tcp.data)
        if not payload:
            continue
        if s.next_seq is None:  # the capture began mid-stream
            s.next_seq = tcp.seq
        s.early[tcp.seq] = (payload, frame, t)
        _drain(s, out, feed, name)
    return out, feed


def _mold(data: bytes, t: int, where: str, feed: list[FeedCaptured]) -> None:
    """A MoldUDP64 packet's messages; a datagram that is not one (DNS, anything) is ignored."""
    try:
        session, seq, count, msgs = mold.unpack(data)
    except ValueError:
        return
    if not session.isascii() or not session.strip() or (count not in (0, mold.END) and count != len(msgs)):
        return
    for i, m in enumerate(msgs):
        feed.append(FeedCaptured(t, "mold", session.decode().strip(), seq + i, _itch(m, where), where))


def _itch(m: bytes, where: str) -> bytes:
    try:
        decode(m)
    except BadMessage as e:
        raise IngestError(f"{where}: {e}") from None
    return m


def _soup(s: _Stream, data: bytes, t: int, where: str, feed: list[FeedCaptured]) -> None:
    """SoupBinTCP server packets: Login Accepted sets the session and sequence, Sequenced Data counts."""
    buf = s.soup
    buf += data
    pos = 0
    while len(buf) - pos >= 3:
        n = int.from_bytes(buf[pos : pos + 2], "big")
        if n == 0:
            raise IngestError(f"{where}: SoupBinTCP packet of length 0")
        if len(buf) - pos - 2 < n:
            break
        kind, payload = buf[pos + 2 : pos + 3], bytes(buf[pos + 3 : pos + 2 + n])
        pos += 2 + n
        if kind == b"A" and len(payload) == 30:
            s.soup_session = payload[:10].decode("ascii", "replace").strip()
            s.soup_seq = int(payload[10:].strip() or b"1")
        elif kind == b"S":
            feed.append(FeedCaptured(t, "soup", s.soup_session, s.soup_seq, _itch(payload, where), where))
            s.soup_seq += 1
        elif kind[0] not in _SOUP_SERVER:
            raise IngestError(f"{where}: SoupBinTCP packet type {kind!r} in a server stream")
    del buf[:pos]


def _drain(s: _Stream, out: list[Captured], feed: list[FeedCaptured], name: str) -> None:
    assert s.next_seq is not None
    while True:
        hit = None
        for seq, (payload, frame, t) in s.early.items():
            off = (s.next_seq - seq) & 0xFFFFFFFF
            if off < len(payload):  # this segment holds the next byte (perhaps after old ones)
                hit = seq, payload[off:], frame, t
                break
            if off < 1 << 31:  # wholly before next_seq: a retransmission of what we have
                hit = seq, b"", frame, t
                break
        if hit is None:
            return
        seq, fresh, frame, t = hit
        del s.early[seq]
        if not fresh:
            continue
        s.next_seq = (s.next_seq + len(fresh)) & 0xFFFFFFFF
        if not s.kind:
            s.head += fresh
            if len(s.head) < 5:
                continue  # too little yet to tell FIX from anything else
            fresh = s.head
            if fresh.startswith(b"8=FIX"):
                s.kind = "fix"
            elif fresh[2] in _SOUP_SERVER and int.from_bytes(fresh[:2], "big") > 0:
                s.kind = "soup"
            else:
                s.kind = "other"
        where = f"{name} frame {frame}"
        if s.kind == "soup":
            _soup(s, fresh, t, where, feed)
            continue
        if s.kind != "fix":
            continue
        for f in s.framer.feed(fresh):
            if isinstance(f, Garbled):
                raise IngestError(f"{where}: {f.reason} in the FIX stream ({f.raw[:40]!r})")
            out.append(Captured(t, parse_message(f, where), where))


def _ip(link: int, buf: bytes, name: str, frame: int) -> dpkt.ip.IP | dpkt.ip6.IP6 | None:
    try:
        if link == _ETHERNET:
            pkt = dpkt.ethernet.Ethernet(buf).data
        elif link in (_NULL, _LOOP):
            pkt = dpkt.loopback.Loopback(buf).data
        elif link == _SLL:
            pkt = dpkt.sll.SLL(buf).data
        elif link == _SLL2:
            pkt = dpkt.sll2.SLL2(buf).data
        elif link in (_RAW, _RAW_ALT):
            pkt = dpkt.ip6.IP6(buf) if buf[:1] and buf[0] >> 4 == 6 else dpkt.ip.IP(buf)
        else:
            raise IngestError(f"{name}: link type {link} is not supported (Ethernet, loopback, SLL, raw IP)")
    except (dpkt.dpkt.Error, ValueError) as e:
        raise IngestError(f"{name} frame {frame}: not a readable packet ({e})") from None
    if isinstance(pkt, (dpkt.ip.IP, dpkt.ip6.IP6)):
        return pkt
    return None
