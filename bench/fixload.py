"""An open-loop FIX load generator that sends each order at its scheduled instant.

Used by bench/fix.py for the open-loop figures. The first generator (asyncio, the project's own
initiator sessions) woke on a 1 ms tick: an order due just after a tick waited for the next one,
so "latency from the scheduled instant" included up to a millisecond (p99 2.2-2.5 ms) of the
generator's own lateness, and a target of p99 < 1 ms could not be judged. This one is what wrk2 is
to HTTP, in one Python process:

- plain non-blocking sockets, one per session, and ``select`` with a microsecond timeout (the
  process's timer slack set to 1 µs where Linux allows), so it sleeps until exactly the next
  order's instant or until an ExecutionReport arrives;
- each NewOrderSingle is built from a template (only MsgSeqNum, ClOrdID, side and price change)
  and framed with the project's codec (BodyLength, CheckSum);
- latency is measured from the scheduled instant (a late send counts: no coordinated omission)
  and, apart, from the send; the generator's own lateness (send - scheduled) is reported too.

The session layer it needs is small and spoken correctly: Logon with ResetSeqNumFlag, MsgSeqNum
from 1, a Heartbeat for each TestRequest, Logout at the end. It checks nothing the server sends
beyond finding ExecutionReports (35=8) and their ClOrdID (11).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import select
import socket
import time
from typing import Any

from system.gateways.fix.codec import Framer, frame

BEGIN = b"FIX.4.4"
SENDING_TIME = b"20310106-01:00:00.000"  # the server's sessions in bench/fix.py do not check it
# NewOrderSingle's body: ClOrdID, account, side and price vary (bench/fix.py's workload: resting
# limit orders, buys at 2500 and sells at 2510).
ORDER = (
    b"11=%s\x011=ACC%d\x0155=XTKS:7203\x0154=%s\x0160=20310106-01:00:00\x0138=100\x0140=2\x0144=%s\x01"
)


def _fine_timer_slack() -> None:
    """Ask Linux for 1 µs of timer slack (default 50 µs) so a timed wait ends when it should."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(29, 1000, 0, 0, 0)  # PR_SET_TIMERSLACK, in ns


class _Link:
    __slots__ = ("comp", "framer", "k", "seq", "sock")

    def __init__(self, k: int, port: int) -> None:
        self.k = k
        self.comp = b"L%d" % k
        self.seq = 0
        self.framer = Framer()
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, msg_type: bytes, body: bytes) -> None:
        self.seq += 1
        payload = b"35=%s\x0149=%s\x0156=CHRONEX\x0134=%d\x0152=%s\x01%s" % (
            msg_type, self.comp, self.seq, SENDING_TIME, body,
        )  # fmt: skip
        self.sock.sendall(frame(BEGIN, payload))


def _field(raw: bytes, tag: bytes) -> bytes | None:
    i = raw.find(b"\x01" + tag + b"=")
    if i < 0:
        return None
    i += len(tag) + 2
    return raw[i : raw.index(b"\x01", i)]


def open_loop(port: int, sessions: int, seconds: float, rate: int, tag: str = "o") -> dict[str, Any]:
    """Send ``rate`` NewOrderSingles a second for ``seconds``, round-robin over ``sessions``;
    return the latencies (ns) from the scheduled instant and from the send, and the send lag.

    ``tag`` starts every ClOrdID: a run against a server that already saw another run's ids must
    use its own, or the server rejects each repeated id at the edge (a cheaper path than an order's,
    which would flatter the latency)."""
    gc.disable()  # its pauses would count as the server's latency; a run's garbage is small
    _fine_timer_slack()
    links = [_Link(k, port) for k in range(sessions)]
    for ln in links:
        ln.send(b"A", b"98=0\x01108=30\x01141=Y\x01")
    for ln in links:  # the Logon answer
        ln.sock.settimeout(10)
        while not any(type(f) is bytes and b"\x0135=A\x01" in f for f in ln.framer.feed(ln.sock.recv(65536))):
            pass
        ln.sock.setblocking(False)
    by_fd = {ln.sock.fileno(): ln for ln in links}
    socks = [ln.sock for ln in links]
    pending: dict[bytes, tuple[int, int]] = {}  # ClOrdID -> (scheduled, sent)
    lat_sched: list[int] = []
    lat_sent: list[int] = []
    lag: list[int] = []
    rejected = [0]  # ERs with ExecType Rejected
    at: list[int] = []  # each latency's scheduled instant, from the start
    prefix = tag.encode()
    interval = 10**9 / rate
    clock = time.perf_counter_ns
    t0 = clock() + 50_000_000  # a moment for the logons to settle
    end = t0 + int(seconds * 1e9)
    i = 0
    due = t0

    def read(ready: list[Any]) -> None:
        t = clock()
        for s in ready:
            ln = by_fd[s.fileno()]
            try:
                data = s.recv(1 << 20)
            except BlockingIOError:
                continue
            for f in ln.framer.feed(data):
                if type(f) is not bytes:
                    continue
                if b"\x0135=8\x01" in f:
                    if b"\x01150=8\x01" in f:
                        rejected[0] += 1
                    times = pending.pop(_field(f, b"11") or b"", None)
                    if times is not None:
                        lat_sched.append(t - times[0])
                        lat_sent.append(t - times[1])
                        at.append(times[0] - t0)
                elif b"\x0135=1\x01" in f:  # TestRequest: answer, or the server logs us out
                    ln.send(b"0", b"112=%s\x01" % (_field(f, b"112") or b""))

    while due < end:
        now = clock()
        while due <= now and due < end:
            ln = links[i % sessions]
            side, px = (b"1", b"2500") if i % 2 else (b"2", b"2510")
            clid = b"%s%d" % (prefix, i)
            body = ORDER % (clid, ln.k, side, px)
            sent = clock()
            ln.send(b"D", body)
            pending[clid] = (due, sent)
            lag.append(sent - due)
            i += 1
            due = t0 + int(i * interval)
        wait = (due - clock()) / 1e9
        ready, _, _ = select.select(socks, [], [], max(wait, 0.0))
        if ready:
            read(ready)
    drain_end = clock() + 1_000_000_000
    while pending and clock() < drain_end:
        ready, _, _ = select.select(socks, [], [], 0.05)
        if ready:
            read(ready)
    for ln in links:
        with contextlib.suppress(OSError):
            ln.sock.setblocking(True)
            ln.send(b"5", b"")
            ln.sock.settimeout(1)
            ln.sock.recv(65536)
        ln.sock.close()
    lag.sort()
    return {
        "orders": i,
        "lat": lat_sched,
        "lat_sent": lat_sent,
        "at": at,
        "missing": len(pending),
        "rejected": rejected[0],
        "tick_lag_p99": lag[int(len(lag) * 0.99)] if lag else 0,
    }


if __name__ == "__main__":  # `make bench` runs every bench/*.py: this one is bench/fix.py's part
    print("bench/fixload.py is the open-loop generator of bench/fix.py; run that")
