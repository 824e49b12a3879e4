"""FIX codec micro-benchmark: parse and encode one NewOrderSingle, ours vs simplefix, in µs each;
plus our validation and the whole in-process session path (frame, parse, validate, application
echo, encode, store) per message.

    .venv/bin/python bench/fix_codec.py [--rounds 15] [--n 20000]

Workload: one 20-field NewOrderSingle (header, 12 body fields, a 2-member Parties group). Each
round times every variant on the same message, interleaved, so machine noise hits all alike;
figures are medians over the rounds, ratios are simplefix / ours.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import simplefix

from system.clock import FixedClock, from_datetime
from system.gateways.fix import FixAcceptor, load_dictionary, store_factory
from system.gateways.fix.acceptance import AcceptanceApplication, acceptance_sessions
from system.gateways.fix.codec import Framer, encode_fields, format_timestamp, frame, parse
from system.gateways.fix.testkit import Peer

BODY: list[tuple[int, str | bytes | int]] = [
    (11, "ORD-000123"), (1, "ACC1"), (21, 1), (55, "7203"), (207, "XTKS"), (54, 1), (38, 300), (40, 2),
    (44, "2500.5"), (59, 0), (18, "6"), (60, "20310106-00:00:00.123"), (453, 2), (448, "TRADER1"), (447, "D"),
    (452, 11), (448, "DESK7"), (447, "D"), (452, 24),
]  # fmt: skip
HEADER: list[tuple[int, str | bytes | int]] = [
    (35, "D"), (34, 123), (49, "CLIENT1"), (52, "20310106-00:00:00.123"), (56, "CHRONEX"),
]  # fmt: skip
RAW = frame(b"FIX.4.4", encode_fields([*HEADER, *BODY]))


def ours_parse() -> object:
    return parse(RAW)


_framer = Framer()


def ours_frame_parse() -> object:
    return parse(_framer.feed(RAW)[0])  # type: ignore[arg-type]


_dictionary = load_dictionary()
_msg = parse(RAW)


def ours_validate() -> None:
    _dictionary.validate(_msg)


def ours_encode() -> bytes:
    # What FixSession.send does: stamp the header, encode the body, frame.
    payload = b"35=D\x0134=%d\x0149=CLIENT1\x0152=%s\x0156=CHRONEX\x01%s" % (
        123, format_timestamp(1_925_424_000_123_000_000), encode_fields(BODY),
    )  # fmt: skip
    return frame(b"FIX.4.4", payload)


def simplefix_parse() -> object:
    p = simplefix.FixParser()
    p.append_buffer(RAW)
    return p.get_message()


def simplefix_encode() -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4")
    for tag, value in [*HEADER, *BODY]:
        m.append_pair(tag, value)
    return bytes(m.encode())


def session_path(n: int) -> Callable[[], None]:
    """n NewOrderSingles through a logged-on acceptor (acceptance echo, memory store), no sockets."""
    clock = FixedClock(from_datetime(datetime(2031, 1, 6, tzinfo=UTC)))
    acceptor = FixAcceptor(
        acceptance_sessions(),
        AcceptanceApplication(),
        clock,
        store_factory("memory:"),
        timer_clock=FixedClock(0),
    )
    peer = Peer(acceptor, clock=clock)
    peer.logon()
    body = [(t, v) for t, v in BODY if t != 11]
    frames = [peer.build("D", [(11, f"c{i}"), *body]) for i in range(n)]
    assert peer.transport is not None and peer.conn is not None
    conn, transport = peer.conn, peer.transport

    def run() -> None:
        for raw in frames:
            conn.data_received(raw)
        transport.written.clear()

    return run


def per_call_us(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Wall and CPU µs per call. On a shared machine the CPU figure is the steadier one: wall time
    also counts the time this process waited for a core."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6, (time.process_time() - c0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 2,000 messages")
    args = ap.parse_args()
    if args.quick:  # make bench BENCH_ARGS=--quick
        args.rounds = 2
        args.n = 2_000
    assert simplefix_encode() == RAW and ours_encode() == RAW, "the variants must produce the same bytes"
    variants: dict[str, Callable[[], object]] = {
        "ours parse": ours_parse,
        "ours frame+parse": ours_frame_parse,
        "ours validate": ours_validate,
        "ours encode": ours_encode,
        "simplefix parse": simplefix_parse,
        "simplefix encode": simplefix_encode,
    }
    wall: dict[str, list[float]] = {k: [] for k in [*variants, "session in->out"]}
    cpu: dict[str, list[float]] = {k: [] for k in wall}
    m = args.n // 4
    for _ in range(args.rounds):
        for name, fn in variants.items():
            w, c = per_call_us(fn, args.n)
            wall[name].append(w)
            cpu[name].append(c)
        run = session_path(m)
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        wall["session in->out"].append((time.perf_counter() - t0) / m * 1e6)
        cpu["session in->out"].append((time.process_time() - c0) / m * 1e6)
    w_med = {k: statistics.median(v) for k, v in wall.items()}
    c_med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"NewOrderSingle, {len(RAW)} bytes, {args.rounds} interleaved rounds x {args.n} calls; medians")
    print(f"  {'':18} {'wall µs':>9} {'cpu µs':>9} {'per s (cpu)':>12}")
    for name in wall:
        print(f"  {name:18} {w_med[name]:9.2f} {c_med[name]:9.2f} {1e6 / c_med[name]:12,.0f}")
    for what in ("parse", "encode"):
        ratio_w = w_med[f"simplefix {what}"] / w_med[f"ours {what}"]
        ratio_c = c_med[f"simplefix {what}"] / c_med[f"ours {what}"]
        print(f"  {what}: simplefix / ours = {ratio_w:.1f}x wall, {ratio_c:.1f}x cpu")
    print("  session in->out: frame, parse, validate, echo (encode + store) per message, no sockets")


if __name__ == "__main__":
    main()
