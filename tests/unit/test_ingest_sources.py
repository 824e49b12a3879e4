"""Reading production FIX traffic: message logs, QuickFIX stores and pcaps, and their faults."""

from __future__ import annotations

import io
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from system.gateways.fix.codec import encode
from system.gateways.itch import messages, mold, soup
from system.ingest import IngestError
from system.ingest.pcap import read_pcap
from system.ingest.sources import read_log, read_source, read_store

T0 = "20310106-01:00:00.000"


def msg(seq: int, mt: str, sender: str, target: str, body: list[tuple[int, str]], t: str = T0) -> bytes:
    return encode("FIX.4.4", [(35, mt), (49, sender), (56, target), (34, seq), (52, t), *body])


ORDER = [(11, "b1"), (1, "ACC1"), (55, "XTKS:7203"), (54, "1"), (38, "100"), (40, "2"), (44, "2500")]


def test_quickfix_and_iso_and_pipe_logs_give_messages_at_their_line_times() -> None:
    """QuickFIX FileLog lines, ISO-stamped pipe lines and event-log text read to timed messages."""
    d = msg(2, "D", "C1", "V", ORDER)
    lines = [
        b"20310106-01:00:00.250000 : Created session",  # event-log text: no message, skipped
        b"20310106-01:00:00.500 : " + d,
        b"2031-01-06T10:00:01.000+09:00 " + d.replace(b"\x01", b"|"),
        b"",
    ]
    got = read_log(b"\n".join(lines), "x.log")
    assert [c.where for c in got] == ["x.log:2", "x.log:3"]
    assert got[0].time == 1_925_427_600_500_000_000  # 2031-01-06T01:00:00.5Z
    assert got[1].time == 1_925_427_601_000_000_000  # 10:00:01 JST is 01:00:01 UTC
    assert got[0].msg == got[1].msg


def test_a_line_without_a_timestamp_takes_sending_time() -> None:
    """A raw line with no timestamp before the message is timed by its SendingTime (52)."""
    [c] = read_log(msg(2, "D", "C1", "V", ORDER, t="20310106-02:00:00.000"), "raw.log")
    assert c.time == 1_925_431_200_000_000_000


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (msg(2, "D", "C1", "V", ORDER)[:-4] + b"000\x01", "CheckSum does not match"),
        (msg(2, "D", "C1", "V", ORDER).replace(b"9=", b"9=1", 1), "incomplete message"),
        (b"8=FIX.4.4\x01", "incomplete message"),
    ],
)
def test_a_broken_line_is_named_with_its_file_and_line(raw: bytes, reason: str) -> None:
    """A garbled message in a log is an error naming the file, the line and what is wrong."""
    good = b"20310106-01:00:00.000 : " + msg(1, "D", "C1", "V", ORDER)
    with pytest.raises(IngestError, match=rf"^day\.log:3: .*{reason}"):
        read_log(good + b"\n\n20310106-01:00:00.000 : " + raw + b"\n", "day.log")


def test_a_quickfix_store_reads_its_body_through_the_header_index(tmp_path: Path) -> None:
    """QuickFIX's FileStore (NAME.body indexed by NAME.header) gives each sent message at its SendingTime."""
    a, b = msg(1, "8", "V", "C1", [(11, "b1"), (150, "0")]), msg(2, "8", "V", "C1", [(11, "b1"), (150, "F")])
    (tmp_path / "FIX.4.4-V-C1.body").write_bytes(a + b)
    (tmp_path / "FIX.4.4-V-C1.header").write_text(f"1,0,{len(a)} 2,{len(a)},{len(b)} ")
    src = read_source(tmp_path / "FIX.4.4-V-C1.header")
    assert src.format == "quickfix-store" and src.name == "FIX.4.4-V-C1.body"
    assert [c.msg.get(150) for c in src.messages] == [b"0", b"F"]
    with pytest.raises(IngestError, match="entry 2: offset"):
        read_store(a + b, f"1,0,{len(a)} 2,{len(a)},{len(b) + 5}", "x.body")


def test_a_file_that_is_no_fix_at_all_is_refused(tmp_path: Path) -> None:
    """A file with no FIX message and no capture header is refused, named."""
    p = tmp_path / "notes.txt"
    p.write_text("hello\n")
    with pytest.raises(IngestError, match=r"notes\.txt: not a FIX log"):
        read_source(p)


# -- pcaps ----------------------------------------------------------------------------------------
CLIENT, VENUE = (b"\x7f\x00\x00\x01", 40000), (b"\x7f\x00\x00\x01", 9878)


def _packet(
    src: tuple[bytes, int], dst: tuple[bytes, int], seq: int, data: bytes, flags: int = 0x18
) -> bytes:
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, flags=flags, data=data)
    ip = dpkt.ip.IP(src=src[0], dst=dst[0], p=dpkt.ip.IP_PROTO_TCP, data=tcp)
    ip.len = len(bytes(ip))
    return bytes(
        dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    )


def _pcap(packets: list[bytes]) -> bytes:
    buf = io.BytesIO()
    w = dpkt.pcap.Writer(buf)
    for i, p in enumerate(packets):
        w.writepkt(p, ts=1_925_427_600 + i / 1000)
    return buf.getvalue()


STREAM = b"".join(msg(i, "D", "C1", "V", [(11, f"o{i}"), *ORDER[1:]]) for i in range(1, 6))


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(1, len(STREAM) - 1), max_size=12, unique=True),
    order=st.randoms(use_true_random=False),
    dups=st.lists(st.integers(0, 20), max_size=4),
)
def test_tcp_segments_in_any_order_with_retransmissions_give_the_same_messages(
    cuts: list[int], order: object, dups: list[int]
) -> None:
    """However the FIX stream is cut, reordered and retransmitted, its messages come out whole, in order."""
    bounds = [0, *sorted(cuts), len(STREAM)]
    segs = [(bounds[i], STREAM[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)]
    segs += [segs[d % len(segs)] for d in dups]
    order.shuffle(segs)  # type: ignore[attr-defined]
    isn = 1000
    pkts = [_packet(CLIENT, VENUE, isn, b"", flags=0x02)]
    pkts += [_packet(CLIENT, VENUE, isn + 1 + off, data) for off, data in segs]
    got, feed = read_pcap(_pcap(pkts), "x.pcap")
    assert feed == []
    assert [c.msg.get(11) for c in got] == [f"o{i}".encode() for i in range(1, 6)]


def test_a_garbled_fix_stream_in_a_capture_names_the_frame() -> None:
    """A bad CheckSum inside a captured FIX stream is an error naming the capture and the frame."""
    bad = msg(2, "D", "C1", "V", ORDER)[:-4] + b"000\x01"
    first = msg(1, "D", "C1", "V", ORDER)
    pkts = [_packet(CLIENT, VENUE, 1, first), _packet(VENUE, CLIENT, 7, b"8=FIX"[:0] + first)]
    pkts.append(_packet(CLIENT, VENUE, 1 + len(first), bad))
    with pytest.raises(IngestError, match=r"^x\.pcap frame 3: CheckSum does not match"):
        read_pcap(_pcap(pkts), "x.pcap")


def test_a_truncated_capture_names_the_frame() -> None:
    """A capture cut off inside a packet record is an error naming the capture and the frame."""
    data = _pcap([_packet(CLIENT, VENUE, 1, STREAM[:200]), _packet(CLIENT, VENUE, 201, STREAM[200:400])])
    with pytest.raises(IngestError, match=r"^x\.pcap frame 2"):
        read_pcap(data[:-30], "x.pcap")


def test_a_stream_that_is_neither_fix_nor_a_feed_is_left_out() -> None:
    """A TCP stream neither FIX nor a SoupBinTCP server (a feed login side, an admin channel) is skipped."""
    pkts = [
        _packet(CLIENT, VENUE, 1, soup.login_request("u", "p")),
        _packet(CLIENT, (CLIENT[0], 1), 1, STREAM),
    ]
    pkts.append(_packet(VENUE, CLIENT, 1, b'{"op": "now"}\n'))
    fix, feed = read_pcap(_pcap(pkts), "x.pcap")
    assert len(fix) == 5 and feed == []


ITCH = [
    messages.system_event(0, 1_000, b"O"),
    messages.add_order(1, 2_000, 7, b"B", 100, messages.stock8("7203"), 25_000_000),
    messages.executed(1, 3_000, 7, 100, 1),
]


def _udp(data: bytes, dport: int = 26400) -> bytes:
    udp = dpkt.udp.UDP(sport=5000, dport=dport, data=data)
    udp.ulen = len(bytes(udp))
    ip = dpkt.ip.IP(src=VENUE[0], dst=CLIENT[0], p=dpkt.ip.IP_PROTO_UDP, data=udp)
    ip.len = len(bytes(ip))
    return bytes(
        dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    )


def test_itch_over_soupbintcp_and_moldudp64_is_read_with_its_sequence_numbers() -> None:
    """A SoupBinTCP server stream and MoldUDP64 datagrams give their ITCH messages, numbered as sent."""
    accepted = soup.packet(b"A", b"FEED1".rjust(10) + b"41".rjust(20))
    stream = accepted + b"".join(soup.packet(b"S", m) for m in ITCH) + soup.packet(b"H")
    pkts = [_packet(VENUE, CLIENT, 1, stream[:10]), _packet(VENUE, CLIENT, 11, stream[10:])]
    pkts += [_udp(mold.pack(b"MOLD1".ljust(10), 7, ITCH[:2])), _udp(b"\x12\x34 not mold")]
    fix, feed = read_pcap(_pcap(pkts), "x.pcap")
    assert fix == []
    assert [(f.channel, f.session, f.seq, f.raw) for f in feed] == [
        *[("soup", "FEED1", 41 + i, m) for i, m in enumerate(ITCH)],
        ("mold", "MOLD1", 7, ITCH[0]),
        ("mold", "MOLD1", 8, ITCH[1]),
    ]
    assert feed[0].where == "x.pcap frame 2"  # the packet that completed it


def test_a_garbled_itch_message_names_the_frame() -> None:
    """An ITCH message of the wrong length in a MoldUDP64 packet is an error naming the frame."""
    pkts = [
        _udp(mold.pack(b"MOLD1".ljust(10), 1, [ITCH[0]])),
        _udp(mold.pack(b"MOLD1".ljust(10), 2, [ITCH[1][:-3]])),
    ]
    with pytest.raises(IngestError, match=r"^x\.pcap frame 2: ITCH A message of"):
        read_pcap(_pcap(pkts), "x.pcap")
