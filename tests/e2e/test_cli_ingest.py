"""``chronex ingest fix``, ``replay --rerun`` and ``diff --production`` on hand-written FIX logs:
what production answered set beside what the engine answers, and broken sources refused whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronex.cli import main
from system.clock import FixedClock
from system.engine import CancelOrder, SubmitOrder
from system.eventlog import open_log
from system.gateways.fix.codec import encode

ORDER = [(55, "XTKS:7203"), (40, "2"), (59, "0")]
BUY = [(11, "b1"), (1, "ACC1"), (54, "1"), (38, "300"), (44, "2500"), *ORDER]
SELL = [(11, "s1"), (1, "ACC2"), (54, "2"), (38, "100"), (44, "2500"), *ORDER]


def msg(seq: int, mt: str, sender: str, target: str, body: list[tuple[int, str]]) -> bytes:
    return encode(
        "FIX.4.4", [(35, mt), (49, sender), (56, target), (34, seq), (52, "20310106-01:00:00"), *body]
    )


def er(seq: int, clid: str, exec_type: str, status: str, cum: str, leaves: str, *last: str) -> bytes:
    body = [(37, "X"), (11, clid), (17, f"e{seq}"), (150, exec_type), (39, status), (151, leaves), (14, cum)]
    if last:
        body += [(32, last[0]), (31, last[1])]
    return msg(seq, "8", "VENUE", "C1", body)


def day(fill_qty: str = "100") -> bytes:
    """A venue's message log: a buy rests, a sell fills it, the rest of the buy is cancelled."""
    cancelled = [(150, "4"), (39, "4"), (151, "0"), (14, fill_qty)]
    rows = [
        ("01:00:00.000", msg(1, "A", "C1", "VENUE", [(98, "0"), (108, "30")])),
        ("01:00:01.000", msg(2, "D", "C1", "VENUE", BUY)),
        ("01:00:01.001", er(2, "b1", "0", "0", "0", "300")),
        ("01:00:02.000", msg(3, "D", "C1", "VENUE", SELL)),
        ("01:00:02.001", er(3, "s1", "0", "0", "0", "100")),
        ("01:00:02.001", er(4, "b1", "F", "1", fill_qty, str(300 - int(fill_qty)), fill_qty, "2500")),
        ("01:00:02.001", er(5, "s1", "F", "2", "100", "0", "100", "2500")),
        ("01:00:03.000", msg(4, "F", "C1", "VENUE", [(11, "c1"), (41, "b1"), (54, "1"), *ORDER[:1]])),
        ("01:00:03.001", msg(6, "8", "VENUE", "C1", [(11, "c1"), (41, "b1"), *cancelled])),
    ]  # fmt: skip
    return b"".join(f"20310106-{t} : ".encode() + m + b"\n" for t, m in rows)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    o = capsys.readouterr()
    return rc, o.out, o.err


def ingest(capsys: pytest.CaptureFixture[str], out: Path, *files: Path) -> tuple[int, str, str]:
    return run(
        capsys, "ingest", "fix", *map(str, files), "-o", str(out), "--venue", "XTKS", "--instruments", "7203"
    )


def test_production_that_agrees_with_the_engine_diffs_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A day whose reports match Chronex's rules ingests, re-runs identically and shows no differences."""
    src = tmp_path / "FIX.4.4-VENUE-C1.messages.log"
    src.write_bytes(day())
    rc, out, err = ingest(capsys, tmp_path / "prod.db", src)
    assert rc == 0, err
    assert "3 commands" in out and "1 session-level skipped" in out
    rc, out, err = run(
        capsys, "replay", str(tmp_path / "prod.db"), "--rerun", "--out", str(tmp_path / "re.db")
    )
    assert rc == 0 and "same as" in out and "production reports: 0 orders differ" in out, out + err
    rc, out, _ = run(
        capsys, "diff", str(tmp_path / "prod.db"), str(tmp_path / "re.db"), "--production", "--check"
    )
    assert rc == 0 and "(0 differences)" in out
    log = open_log(tmp_path / "prod.db", FixedClock(0), create=False)
    try:
        entries = list(log.read(1))
    finally:
        log.close()
    cmds = [e for e in entries if isinstance(e.record, (SubmitOrder, CancelOrder))]
    assert [e.causation_id for e in cmds] == ["C1/b1", "C1/s1", "C1/F:c1"]  # a served session's ids
    assert [e.valid_time % 10**10 for e in cmds] == [1_000_000_000, 2_000_000_000, 3_000_000_000]


def test_a_report_production_sent_differently_is_the_first_divergence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Production's fill of 60 where the engine fills 100 is shown for that order, first divergence first."""
    src = tmp_path / "prod.log"
    src.write_bytes(day(fill_qty="60"))
    assert ingest(capsys, tmp_path / "prod.db", src)[0] == 0
    rc, out, _ = run(capsys, "diff", str(tmp_path / "prod.db"), "--production", "--json", "--check")
    assert rc == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1
    [d] = rows
    assert (d["session"], d["order"], d["index"]) == ("C1", "b1", 2)
    assert d["fields"] == ["cum_qty", "leaves_qty", "last_qty"]
    assert (d["production"]["last_qty"], d["engine"]["last_qty"]) == ("60", "100")
    rc, out, _ = run(capsys, "diff", str(tmp_path / "prod.db"), "--production")
    assert rc == 0 and "1 orders differ" in out and "b1" in out


def test_the_same_sources_give_the_same_log_and_duplicates_are_kept_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ingesting a log twice gives byte-identical heads; the same log given twice keeps each message once."""
    src = tmp_path / "prod.log"
    src.write_bytes(day())
    heads = []
    for name, files in (("a.db", [src]), ("b.db", [src]), ("c.db", [src, src])):
        rc, out, err = ingest(capsys, tmp_path / name, *files)
        assert rc == 0, err
        log = open_log(tmp_path / name, FixedClock(0), create=False)
        try:
            heads.append(log.head().hash)
            n = sum(1 for e in log.read(1) if isinstance(e.record, (SubmitOrder, CancelOrder)))
        finally:
            log.close()
        assert n == 3
    assert heads[0] == heads[1]
    assert "8 duplicates dropped" in out


def test_a_broken_line_is_refused_naming_it_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad CheckSum on line 4 exits 2 naming the file and line; no log is left, not even a partial one."""
    lines = day().split(b"\n")
    lines[3] = lines[3][:-4] + b"999\x01"
    src = tmp_path / "bad.log"
    src.write_bytes(b"\n".join(lines))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc, _, err = ingest(capsys, out_dir / "prod.db", tmp_path / "prod.log", src)
    assert rc == 2 and "Traceback" not in err
    assert "no such file" in err  # the first source named is missing
    (tmp_path / "prod.log").write_bytes(day())
    rc, _, err = ingest(capsys, out_dir / "prod.db", tmp_path / "prod.log", src)
    assert rc == 2 and "bad.log:4: CheckSum does not match" in err
    assert [p.name for p in out_dir.iterdir() if not p.name.endswith(".lock")] == []


def test_a_truncated_capture_is_refused_naming_the_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A capture cut short inside a packet exits 2 naming the frame; nothing is written."""
    dpkt = pytest.importorskip("dpkt")
    import io

    buf = io.BytesIO()
    w = dpkt.pcap.Writer(buf)
    stream = day().split(b" : ")[2].split(b"\n")[0]
    for i, (lo, hi) in enumerate(((0, 60), (60, len(stream)))):
        tcp = dpkt.tcp.TCP(sport=40000, dport=9878, seq=1 + lo, flags=0x18, data=stream[lo:hi])
        ip = dpkt.ip.IP(src=b"\x7f\0\0\x01", dst=b"\x7f\0\0\x01", p=6, data=tcp)
        ip.len = len(bytes(ip))
        w.writepkt(bytes(dpkt.ethernet.Ethernet(data=ip, type=0x0800)), ts=1_925_427_600 + i)
    cap = tmp_path / "day.pcap"
    cap.write_bytes(buf.getvalue()[:-20])
    rc, _, err = ingest(capsys, tmp_path / "prod.db", cap)
    assert rc == 2 and "day.pcap frame 2" in err and "Traceback" not in err
    assert not (tmp_path / "prod.db").exists()


def test_bad_flags_and_an_existing_log_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a system to ingest into, or onto an existing log, ingest says so and exits 2."""
    src = tmp_path / "prod.log"
    src.write_bytes(day())
    rc, _, err = run(capsys, "ingest", "fix", str(src), "-o", str(tmp_path / "x.db"))
    assert rc == 2 and "--venue" in err
    assert ingest(capsys, tmp_path / "x.db", src)[0] == 0
    rc, _, err = ingest(capsys, tmp_path / "x.db", src)
    assert rc == 2 and "already exists" in err
    rc, _, err = run(capsys, "diff", str(tmp_path / "x.db"), "--kind", "order", "--production")
    assert rc == 2 and "--kind" in err


def test_the_shipped_quickfix_sample_ingests_and_diffs_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The QuickFIX venue log in data/sample (docs/ingest.md's example) differs from the engine nowhere."""
    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "FIX.4.4-VENUE-CLIENT1.messages.log"
    rc, out, err = ingest(capsys, tmp_path / "prod.db", sample)
    assert rc == 0 and "5 commands, 14 FIX" in out, err
    rc, out, _ = run(capsys, "diff", str(tmp_path / "prod.db"), "--production", "--check")
    assert rc == 0 and "(0 differences)" in out


def test_production_diff_of_a_log_that_was_not_ingested_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """--production on a simulated day says it holds no production reports, exit 2."""
    sample = Path(__file__).resolve().parents[2] / "data" / "sample" / "xtks-7203-open.db"
    rc, _, err = run(capsys, "diff", str(sample), "--production")
    assert rc == 2 and "not an ingested log" in err


def test_map_names_production_symbols_as_chronex_instruments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Orders for production's own symbol are refused at the edge until --map names the instrument."""
    src = tmp_path / "prod.log"
    fixed = b"".join(
        line.split(b" : ")[0] + b" : " + msg_fixed(line.split(b" : ")[1]) + b"\n"
        for line in day().splitlines()
    )
    src.write_bytes(fixed)
    rc, out, err = ingest(capsys, tmp_path / "a.db", src)
    assert rc == 0 and "0 commands" in out and "3 refused at the edge" in out, err
    rc, out, err = ingest(capsys, tmp_path / "b.db", src, "--map", "7203.T=XTKS:7203")
    assert rc == 0 and "3 commands" in out, err
    rc, out, err = ingest(capsys, tmp_path / "c.db", src, "--map", "7203.T=XTKS:9999")
    assert rc == 2 and "--map 7203.T=XTKS:9999: no instrument" in err
    assert not (tmp_path / "c.db").exists()


def msg_fixed(raw: bytes) -> bytes:
    """The same message for symbol 7203.T, with BodyLength and CheckSum made right again."""
    from system.gateways.fix.codec import parse

    m = parse(raw)
    fields = [(t, v.replace(b"XTKS:7203", b"7203.T")) for t, v in m.fields if t not in (8, 9, 10)]
    return encode("FIX.4.4", fields)


def test_feed_flags_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The feed's window and zone need --production and sensible values: exit 2 naming them; a
    log without a captured feed prints no feed table."""
    src = tmp_path / "prod.log"
    src.write_bytes(day())
    assert ingest(capsys, tmp_path / "p.db", src)[0] == 0
    p = str(tmp_path / "p.db")
    rc, _, err = run(capsys, "diff", p, p, "--feed-window-ms", "5")
    assert rc == 2 and "give --production" in err
    rc, _, err = run(capsys, "diff", p, "--production", "--feed-window-ms", "-1")
    assert rc == 2 and "--feed-window-ms -1.0 is not a non-negative number" in err
    rc, out, err = run(capsys, "diff", p, "--production", "--feed-window-ms", "5", "--check")
    assert rc == 0 and "(0 differences)" in out and "ITCH feed" not in out, out + err
