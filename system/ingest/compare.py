"""Production's execution reports beside the ones a run's engine implies, order by order.

Production's side is the ``FixObserved`` outbound ExecutionReports (8) and OrderCancelRejects (9)
of an ingested log. The engine's side is folded from a log's engine events the way the FIX gateway
of ``chronex serve`` turns them into reports: an acceptance is ExecType 0, a fill F with its last
quantity and price, a cancel 4, a replace 5, an expiry C, an engine rejection 8 (a refused cancel or
replace: a 9), and an inbound message the gateway would refuse (``FixObserved.note``) a rejection.

Reports are grouped per order: (session, the ClOrdID of the NewOrderSingle), a cancel or replace
chaining its ClOrdID to the order's through OrigClOrdID. Within an order they are compared in turn
on ExecType, OrdStatus, CumQty, LeavesQty, LastQty and LastPx (decimals compared by value). Ids
(OrderID, ExecID) and times are the venue's own and are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from system.engine import (
    Instrument,
    ListInstrument,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    TradeExecuted,
)
from system.eventlog.codec import LoggedEvent
from system.gateways.fix.mapping import price_text, qty_text
from system.gateways.itch.encoder import ItchEncoder
from system.gateways.itch.messages import FIELDS as ITCH_FIELDS
from system.gateways.itch.messages import BadMessage, decode
from system.ingest.records import FixObserved, IngestedSource, ItchObserved

FIELDS = ("exec_type", "ord_status", "cum_qty", "leaves_qty", "last_qty", "last_px")


@dataclass(frozen=True)
class Report:
    """One execution report (or cancel reject, exec_type "9") reduced to what is compared."""

    time: int
    exec_type: str
    ord_status: str
    cum_qty: str = ""
    leaves_qty: str = ""
    last_qty: str = ""
    last_px: str = ""

    def values(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS}


@dataclass(frozen=True)
class ReportDiff:
    """The first report of one order where production and the engine disagree."""

    session: str
    order: str  # the ClOrdID of the order's NewOrderSingle
    index: int  # 1-based position among the order's reports
    time: int  # when the differing report was sent (production's; the engine's if production sent none)
    fields: tuple[str, ...]  # which compared fields differ (all, when one side has no report)
    production: dict[str, str] | None
    engine: dict[str, str] | None


def _num(v: str | None) -> str:
    if v is None or v == "":
        return ""
    try:
        return format(Decimal(v).normalize(), "f")
    except InvalidOperation:
        return v


class _Chains:
    """ClOrdID -> the ClOrdID of the order it belongs to, per session, from inbound messages."""

    def __init__(self) -> None:
        self.root: dict[tuple[str, str], str] = {}

    def see(self, ob: FixObserved) -> None:
        clid = ob.get(11) or ""
        orig = ob.get(41)
        key = (ob.session, clid)
        if key in self.root:
            return
        self.root[key] = self.of(ob.session, orig) if orig is not None and ob.msg_type in ("F", "G") else clid

    def of(self, session: str, clid: str) -> str:
        return self.root.get((session, clid), clid)


def production_reports(events: Iterable[LoggedEvent]) -> dict[tuple[str, str], list[Report]]:
    chains = _Chains()
    out: dict[tuple[str, str], list[Report]] = {}
    for ev in events:
        ob = ev.record
        if not isinstance(ob, FixObserved):
            continue
        if ob.direction == "in":
            chains.see(ob)
            continue
        if ob.msg_type not in ("8", "9"):
            continue
        if ob.msg_type == "8" and ob.get(150) == "I":
            continue  # an order status answer, not an event of the order
        clid = ob.get(11) or ""
        orig = ob.get(41)
        root = chains.of(ob.session, clid if orig is None or (ob.session, clid) in chains.root else orig)
        if ob.msg_type == "9":
            rep = Report(ev.valid_time, "9", ob.get(39) or "")
        else:
            rep = Report(
                ev.valid_time,
                ob.get(150) or "",
                ob.get(39) or "",
                _num(ob.get(14)),
                _num(ob.get(151)),
                _num(ob.get(32)) if ob.get(150) == "F" else "",
                _num(ob.get(31)) if ob.get(150) == "F" else "",
            )
        out.setdefault((ob.session, root), []).append(rep)
    return out


class _Order:
    __slots__ = ("cum", "inst", "key", "leaves", "status")

    def __init__(self, key: tuple[str, str], inst: Instrument, qty: int) -> None:
        self.key, self.inst, self.cum, self.leaves, self.status = key, inst, 0, qty, "0"


def _split(cid: str) -> tuple[str, str, str] | None:
    """A served command id -> (session, kind prefix, ClOrdID); None for the server's own commands."""
    session, sep, tail = cid.partition("/")
    if not sep:
        return None
    head, colon, rest = tail.partition(":")
    if colon and head in ("F", "G", "q"):
        return session, head, rest
    return session, "", tail


def engine_reports(events: Iterable[LoggedEvent]) -> dict[tuple[str, str], list[Report]]:
    chains = _Chains()
    insts: dict[str, Instrument] = {}
    orders: dict[int, _Order] = {}
    out: dict[tuple[str, str], list[Report]] = {}

    def add(key: tuple[str, str], rep: Report) -> None:
        out.setdefault(key, []).append(rep)

    def state(o: _Order, t: int, exec_type: str, last: tuple[int, int] | None = None) -> Report:
        q = o.inst
        lq, lp = ("", "") if last is None else (_num(qty_text(q, last[1])), _num(price_text(q, last[0])))
        return Report(t, exec_type, o.status, _num(qty_text(q, o.cum)), _num(qty_text(q, o.leaves)), lq, lp)

    for ev in events:
        rec = ev.record
        t = ev.valid_time
        if isinstance(rec, ListInstrument):
            insts[rec.instrument.id] = rec.instrument
        elif isinstance(rec, FixObserved):
            if rec.direction != "in":
                continue
            chains.see(rec)
            if rec.note and rec.msg_type in ("D", "F", "G"):
                root = chains.of(rec.session, rec.get(11) or "")
                add(
                    (rec.session, root),
                    Report(t, "8", "8", "0", "0") if rec.msg_type == "D" else Report(t, "9", "8"),
                )
        elif isinstance(rec, OrderAccepted):
            who = _split(ev.causation_id)
            if who is None or rec.instrument not in insts:
                continue
            key = (who[0], chains.of(who[0], who[2]))
            new = orders[rec.order_id] = _Order(key, insts[rec.instrument], rec.qty)
            add(key, state(new, t, "0"))
        elif isinstance(rec, OrderRejected):
            who = _split(ev.causation_id)
            if who is None:
                continue
            key = (who[0], chains.of(who[0], who[2]))
            if rec.command == "SubmitOrder":
                add(key, Report(t, "8", "8", "0", "0"))
            elif rec.command in ("CancelOrder", "ReplaceOrder"):
                known = None if rec.order_id is None else orders.get(rec.order_id)
                add(key, Report(t, "9", "8" if known is None else known.status))
        elif isinstance(rec, TradeExecuted):
            for oid in (rec.buy_order_id, rec.sell_order_id):
                o = orders.get(oid)
                if o is None:
                    continue
                px = rec.price
                if rec.cross_instrument == o.inst.id and rec.cross_price is not None:
                    px = rec.cross_price
                o.cum += rec.qty
                o.leaves = max(o.leaves - rec.qty, 0)
                o.status = "2" if o.leaves == 0 else "1"
                add(o.key, state(o, t, "F", (px, rec.qty)))
        elif isinstance(rec, (OrderCancelled, OrderExpired, OrderReduced, OrderReplaced)):
            o = orders.get(rec.order_id)
            if o is None:
                continue
            if isinstance(rec, OrderCancelled):
                o.leaves, o.status, kind = 0, "4", "4"
            elif isinstance(rec, OrderExpired):
                o.leaves, o.status, kind = 0, "C", "C"
            elif isinstance(rec, OrderReduced):
                o.leaves = rec.leaves
                o.status, kind = ("4" if rec.leaves == 0 else o.status), "D"
            else:
                o.leaves, kind = rec.leaves, "5"
                o.status = "1" if o.cum else "0"
            add(o.key, state(o, t, kind))
    return out


def compare_reports(production: Iterable[LoggedEvent], engine: Iterable[LoggedEvent]) -> list[ReportDiff]:
    """One ``ReportDiff`` per order whose reports differ, the earliest divergence first."""
    prod, eng = production_reports(production), engine_reports(engine)
    diffs: list[ReportDiff] = []
    for key in sorted(set(prod) | set(eng)):
        a, b = prod.get(key, []), eng.get(key, [])
        for i in range(max(len(a), len(b))):
            ra = a[i] if i < len(a) else None
            rb = b[i] if i < len(b) else None
            va = None if ra is None else ra.values()
            vb = None if rb is None else rb.values()
            if va == vb:
                continue
            fields = FIELDS if va is None or vb is None else tuple(f for f in FIELDS if va[f] != vb[f])
            when = ra.time if ra is not None else rb.time if rb is not None else 0
            diffs.append(ReportDiff(key[0], key[1], i + 1, when, fields, va, vb))
            break
    diffs.sort(key=lambda d: (d.time, d.session, d.order))
    return diffs


def is_ingested(events: Iterable[LoggedEvent]) -> bool:
    """Whether a log was made by ``chronex ingest`` (it names its sources before its first order).

    Reads only the log's head: the manifest, the configuration and the listings come first, so a
    simulated day is told apart at its first order without decoding the rest.
    """
    for ev in events:
        rec = ev.record
        if isinstance(rec, IngestedSource):
            return True
        if rec.kind == "command" and not isinstance(rec, ListInstrument):
            return False
    return False


# -- the ITCH feed ------------------------------------------------------------------------------------
# Production's side is the ``ItchObserved`` messages of an ingested log (one feed session each); the
# engine's is the feed ``ItchEncoder`` publishes for a log's engine events, as ``chronex serve``
# does. Both are numbered by the feed's sequence numbers, so message N is compared with message N:
# its type, stock (by symbol: each side's Stock Directory names its locates) and every field but
# the tracking number and the timestamp. Times are compared apart, on one clock: when the capture
# saw the message against the time of the entry that made it on the re-run (the captured order's
# own time): a message both sides agree on, seen more than the window after (or before) that, is
# a timing difference. The ITCH timestamp inside a message is the venue's clock and is not compared.



@dataclass(frozen=True)
class FeedDiff:
    """One feed message production and the engine published differently.

    ``kind``: "content" (fields differ), "timing" (the same message, captured ``delta_ns`` after
    the time of the engine's entry that made it, beyond the window), "missing" (production
    published it, the engine did not) or "extra" (the engine published past the end of what was
    captured).
    """

    kind: str
    feed: str  # "channel/session" of the capture
    seq: int
    time: int  # production's capture time (the engine's entry time for "extra")
    production: str | None  # the message as text: type, then its fields
    engine: str | None
    delta_ns: int = 0


def _feed_text(msg: bytes, symbols: dict[int, str]) -> str:
    """One message as text, the locate shown as its symbol when known."""
    try:
        t, locate, _tracking, _ts, *rest = decode(msg)
    except BadMessage as e:
        return f"undecodable ({e}): {msg.hex()}"
    values = [v.decode("latin-1").rstrip() if isinstance(v, bytes) else v for v in rest]
    if t == "R":
        symbols[locate] = str(values[0])
    names = ITCH_FIELDS.get(t, ())
    parts = [f"{n}={v}" for n, v in zip(names, values, strict=False) if n != "stock"]
    stock = symbols.get(locate, f"locate {locate}") if locate else ""
    return " ".join([t, *([stock] if stock else []), *parts])


def production_feeds(events: Iterable[LoggedEvent]) -> dict[str, list[tuple[int, bytes, int]]]:
    """The captured feeds of an ingested log: ``"channel/session"`` -> (seq, message, capture time)."""
    out: dict[str, list[tuple[int, bytes, int]]] = {}
    for ev in events:
        r = ev.record
        if isinstance(r, ItchObserved):
            key = f"{r.channel}/{r.session}"
            out.setdefault(key, []).append((r.seq, bytes.fromhex(r.raw), ev.valid_time))
    return out


def engine_feed(events: Iterable[LoggedEvent], tz: str) -> list[tuple[bytes, int]]:
    """The feed a log's engine events publish (message, the time of the entry that made it), in
    feed sequence order, as ``chronex serve`` encodes it."""
    evs = list(events)
    ids = [e.record.instrument.id for e in evs if isinstance(e.record, ListInstrument)]
    enc = ItchEncoder(tz, ids)
    times: list[int] = []
    for ev in evs:  # one entry at a time, flushed only as the server's batches end: at the close
        enc.handle(ev)
        times += [ev.valid_time] * (len(enc.messages) - len(times))
    enc.flush()
    enc.finish()
    last = times[-1] if times else 0
    times += [last] * (len(enc.messages) - len(times))
    return list(zip(enc.messages, times, strict=True))


def compare_feed(
    production: Iterable[LoggedEvent], engine: Iterable[LoggedEvent], tz: str, window_ns: int | None
) -> list[FeedDiff]:
    """Every captured feed message beside the engine's of the same sequence number: content
    differences, timing differences beyond ``window_ns`` (None: times not compared), what one side
    lacks. Sequence numbers the capture missed are not compared (a capture may start late or drop
    a datagram)."""
    feeds = production_feeds(production)
    ours = engine_feed(engine, tz)
    out: list[FeedDiff] = []
    for feed in sorted(feeds):
        psym: dict[int, str] = {}
        esym: dict[int, str] = {}
        # Each side's Stock Directory first: a stock is named by symbol on both.
        for msg, _ in ours:
            if msg[:1] == b"R":
                _feed_text(msg, esym)
        seen = set()
        for seq, msg, t in feeds[feed]:
            if seq in seen:
                continue
            seen.add(seq)
            ptext = _feed_text(msg, psym)
            if not 0 < seq <= len(ours):
                out.append(FeedDiff("missing", feed, seq, t, ptext, None))
                continue
            emsg, et = ours[seq - 1]
            etext = _feed_text(emsg, esym)
            if ptext != etext:
                out.append(FeedDiff("content", feed, seq, t, ptext, etext))
            elif window_ns is not None and abs(t - et) > window_ns:
                out.append(FeedDiff("timing", feed, seq, t, ptext, etext, t - et))
        last = max(seen, default=0)
        for i in range(last, len(ours)):
            msg, t = ours[i]
            if msg[:1] in (b"S",):  # End of Messages after the capture ended is no difference
                continue
            out.append(FeedDiff("extra", feed, i + 1, t, None, _feed_text(msg, esym)))
    return out
