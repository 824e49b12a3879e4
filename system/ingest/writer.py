"""Timed FIX messages -> a Chronex log: inbound orders as commands, outbound reports as observations.

The clock is the recorded timestamps: each message is written at its own time (valid and
recorded), so the log replays the production day on its original timeline. Inbound order
messages become the commands the FIX gateway of ``chronex serve`` would submit for them (same
mapping, same command ids ``SESSION/ClOrdID``, ``SESSION/F:ClOrdID``...), run through today's
system so that cancels and replaces find the engine's order ids exactly as a served session does.
Every application message is also kept as a ``FixObserved`` record, so what production answered
stays in the log beside what the engine did. The same sources always give the same bytes.

Messages seen twice (the venue's and the client's log of one session, or a PossDup resend) are
kept once: a message is known by (SenderCompID, TargetCompID, MsgSeqNum, MsgType).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from system.bootstrap import SystemConfig, TradingSystem
from system.clock import FixedClock
from system.engine import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    Instrument,
    OrderAccepted,
    OrderReplaced,
    ReplaceOrder,
    SubmitOrder,
)
from system.eventlog.store import EventStore
from system.gateways.fix.codec import parse_timestamp
from system.gateways.fix.config import SessionsConfig
from system.gateways.fix.mapping import ORD_TYPES, POST_ONLY, SIDES, STP_TAG, STPS, TIFS
from system.gateways.fix.message import FixMessage
from system.ingest.errors import IngestError
from system.ingest.records import FixObserved, IngestedSource, ItchObserved
from system.ingest.sources import Captured, FeedCaptured, Source
from system.runtime import CommandFailed

INBOUND = frozenset({"D", "F", "G", "H", "q", "AF"})
OUTBOUND = frozenset({"8", "9", "r", "j", "AP"})
ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})


@dataclass
class IngestResult:
    commands: int = 0
    observed: int = 0
    feed: int = 0  # ITCH messages kept
    edge_rejected: int = 0  # inbound messages that became no command (a gateway would refuse them)
    duplicates: int = 0
    skipped: int = 0  # session-level and unknown messages
    first_time: int = 0
    last_time: int = 0
    head_seq: int = 0
    sessions: list[str] = field(default_factory=list)


class _Edge(Exception):
    """An inbound message the served gateway would refuse before the engine (nothing logged)."""


def merged(sources: list[Source]) -> list[Captured | FeedCaptured]:
    """Every source's messages on one timeline: by time, then source order, then file order."""
    keyed: list[tuple[int, int, int, int, Captured | FeedCaptured]] = []
    for i, s in enumerate(sources):
        keyed += [(c.time, i, 0, j, c) for j, c in enumerate(s.messages)]
        keyed += [(f.time, i, 1, j, f) for j, f in enumerate(s.feed)]
    keyed.sort(key=lambda k: k[:4])
    return [k[4] for k in keyed]


def write_log(
    sources: list[Source],
    store: EventStore,
    config: SystemConfig,
    *,
    sessions: SessionsConfig | None = None,
    symbols: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Write the ingested log into ``store`` (empty, opened on a ``FixedClock`` this drives).

    ``symbols`` maps production's instrument names (Symbol, or SecurityExchange:Symbol) to the
    configuration's instrument ids; ``IngestError`` names a mapping to an unknown instrument."""
    rec_clock = store.clock
    if not isinstance(rec_clock, FixedClock):
        raise TypeError("the ingest log must be opened on a FixedClock (it is stamped per message)")
    if store.head().seq:
        raise ValueError(f"{store.url}: the ingest log must be empty")
    timeline = merged(sources)
    app = [c for c in timeline if isinstance(c, FeedCaptured) or c.msg.msg_type not in ADMIN]
    if not app:
        raise IngestError(
            "no FIX application messages in "
            + ", ".join(s.name for s in sources)
            + " (only session-level ones)"
        )
    res = IngestResult(first_time=app[0].time, last_time=app[-1].time)
    sys_clock = FixedClock(app[0].time)
    rec_clock.t = app[0].time
    system = TradingSystem(config, store, sys_clock)
    system.start()
    rt = system.runtime
    for s in sources:
        rt.record(IngestedSource(s.name, s.sha256, s.format, len(s.messages) + len(s.feed)))
    mapper = _Mapper(config.instruments, sessions)
    for alias, inst_id in (symbols or {}).items():
        if inst_id not in mapper.by_ref or ":" not in inst_id:
            known = ", ".join(i.id for i in config.instruments[:5])
            raise IngestError(
                f"--map {alias}={inst_id}: no instrument {inst_id!r} in the system (e.g. {known})"
            )
        mapper.by_ref[alias] = mapper.by_ref[inst_id]
    seen: set[tuple[str, str, str, str]] = set()
    names: set[str] = set()
    for n, c in enumerate(timeline, 1):
        if isinstance(c, FeedCaptured):
            key = ("itch", c.channel, c.session, str(c.seq))
            if key in seen:
                res.duplicates += 1  # a MoldUDP64 packet seen twice (a retransmission, two receivers)
                continue
            seen.add(key)
            sys_clock.t = rec_clock.t = max(c.time, rec_clock.t)
            rt.record(
                ItchObserved(c.channel, c.session, c.seq, c.raw[:1].decode("latin-1"), c.raw.hex(), c.where)
            )
            res.feed += 1
            continue
        msg, mt = c.msg, c.msg.msg_type or ""
        if mt in ADMIN or (mt not in INBOUND and mt not in OUTBOUND):
            res.skipped += 1
            continue
        ident = (msg.get_str(49) or "", msg.get_str(56) or "", msg.get_str(34) or "", mt)
        if ident in seen:
            res.duplicates += 1
            continue
        seen.add(ident)
        inbound = mt in INBOUND
        session = ident[0] if inbound else ident[1]
        names.add(session)
        sys_clock.t = rec_clock.t = max(c.time, rec_clock.t)  # a log's clock never runs backwards
        fields = tuple((t, v.decode("latin-1")) for t, v in msg.fields)
        seq_num = int(ident[2]) if ident[2].isdigit() else 0
        direction = "in" if inbound else "out"
        cmd, cid, note = None, "", ""
        if inbound and mt in ("D", "F", "G", "q"):
            try:
                cmd, cid = mapper.command(msg, session)
            except _Edge as e:
                note = str(e)
        rt.record(FixObserved(session, direction, mt, seq_num, fields, c.where, note))
        res.observed += 1
        if note:
            res.edge_rejected += 1
        if cmd is None:
            continue
        try:
            out = system.execute(cmd, command_id=cid)
        except CommandFailed as e:
            raise IngestError(f"{c.where}: the system failed on {type(cmd).__name__}: {e}") from None
        res.commands += 1
        mapper.learn(session, msg, out.events)
        if progress is not None and n % 10_000 == 0:
            progress(n, len(timeline))
    system.finish()
    res.head_seq = store.head().seq
    res.sessions = sorted(names)
    return res


class _Mapper:
    """FIX order messages -> engine commands, the way ``system.gateways.fix.orders`` maps them."""

    def __init__(self, instruments: tuple[Instrument, ...], sessions: SessionsConfig | None) -> None:
        self.by_ref: dict[str, Instrument] = {i.id: i for i in instruments}
        symbols: dict[str, list[Instrument]] = {}
        for i in instruments:
            symbols.setdefault(i.symbol, []).append(i)
        for sym, insts in symbols.items():
            if len(insts) == 1:
                self.by_ref.setdefault(sym, insts[0])  # a bare symbol, where it is unambiguous
        self.sessions = sessions
        self.by_clid: dict[tuple[str, str], tuple[int, Instrument, str]] = {}  # -> order id, inst, account
        self.used: set[str] = set()

    def command(self, msg: FixMessage, session: str) -> tuple[Any, str]:
        mt = msg.msg_type
        clid = msg.get_str(11) or ""
        prefix = {"D": "", "F": "F:", "G": "G:", "q": "q:"}[mt or ""]
        cid = f"{session}/{prefix}{clid}"
        if cid in self.used:
            raise _Edge(f"duplicate ClOrdID {clid!r} in this session")
        if mt == "D":
            cmd: Any = self._new(msg, session)
        elif mt == "q":
            kind = msg.get_str(530) or ""
            if kind not in ("1", "7"):
                raise _Edge(f"MassCancelRequestType {kind!r} is not supported (1 or 7)")
            inst = self._instrument(msg).id if kind == "1" else None
            cmd = CancelAllOrders(
                account=self._account(msg, session), instrument=inst, reason=CancelReason.USER
            )
        else:
            cmd = self._cancel_or_replace(msg, session, replace=mt == "G")
        self.used.add(cid)
        return cmd, cid

    def learn(self, session: str, msg: FixMessage, events: list[Any]) -> None:
        """Remember the engine's order id for the ClOrdIDs a command's events name."""
        clid = msg.get_str(11) or ""
        for ev in events:
            rec = ev.record
            if isinstance(rec, OrderAccepted):
                inst = self.by_ref[rec.instrument]
                self.by_clid[(session, clid)] = (rec.order_id, inst, rec.account)
            elif isinstance(rec, OrderReplaced):
                orig = self.by_clid.get((session, msg.get_str(41) or ""))
                if orig is not None:
                    self.by_clid[(session, clid)] = orig

    def _account(self, msg: FixMessage, session: str) -> str:
        allowed: tuple[str, ...] = ()
        if self.sessions is not None:
            for s in self.sessions.sessions:
                if s.target_comp_id == session:
                    allowed = s.accounts
        acc = msg.get_str(1)
        if acc is None:
            if len(allowed) == 1 and allowed[0] != "*":
                return allowed[0]
            raise _Edge("Account (1) is required on this session")
        if allowed and "*" not in allowed and acc not in allowed:
            raise _Edge(f"account {acc!r} is not allowed on this session")
        return acc

    def _instrument(self, msg: FixMessage) -> Instrument:
        sym = msg.get_str(55)
        if sym is None:
            raise _Edge("Symbol (55) is required")
        exch = msg.get_str(207)
        ref = f"{exch}:{sym}" if exch and ":" not in sym else sym
        inst = self.by_ref.get(ref)
        if inst is None:
            raise _Edge(f"unknown instrument {ref!r}")
        return inst

    def _new(self, msg: FixMessage, session: str) -> SubmitOrder:
        account = self._account(msg, session)
        inst = self._instrument(msg)
        side = SIDES.get(msg.get(54) or b"")
        if side is None:
            raise _Edge(f"unsupported Side {msg.get_str(54)!r}")
        ot = ORD_TYPES.get(msg.get(40) or b"")
        if ot is None:
            raise _Edge(f"unsupported OrdType {msg.get_str(40)!r}")
        tif = TIFS.get(msg.get(59) or b"0")
        if tif is None:
            raise _Edge(f"unsupported TimeInForce {msg.get_str(59)!r}")
        qty = _units(msg, 38, inst.qty_increment, inst)
        if qty is None:
            raise _Edge("OrderQty (38) is required")
        expire = None
        et = msg.get(126)
        if et is not None:
            try:
                expire = parse_timestamp(et)
            except ValueError:
                raise _Edge(f"ExpireTime {et!r} is not a UTCTimestamp") from None
        stp = STPS.get(msg.get(STP_TAG) or b"0")
        if stp is None:
            raise _Edge(f"unsupported SelfTradePreventionInstruction {msg.get_str(STP_TAG)!r}")
        return SubmitOrder(
            account=account,
            client_order_id=msg.get_str(526) or msg.get_str(11) or "",
            instrument=inst.id,
            side=side,
            qty=qty,
            order_type=ot,
            price=_units(msg, 44, inst.price_increment, inst),
            stop_price=_units(msg, 99, inst.price_increment, inst),
            tif=tif,
            expire_time=expire,
            post_only=POST_ONLY in (msg.get_str(18) or "").split(),
            display_qty=_units(msg, 111, inst.qty_increment, inst) or 0,
            stp=stp,
            cross_currency=msg.get(121) == b"Y",
        )

    def _cancel_or_replace(self, msg: FixMessage, session: str, *, replace: bool) -> Any:
        known = self.by_clid.get((session, msg.get_str(41) or ""))
        if known is None:
            # Not an order this session placed as far as the log shows: let the engine judge, as
            # the gateway does, if the request names an engine order id or a client order id.
            account, inst = self._account(msg, session), self._instrument(msg)
            raw = msg.get(37)
            oid = int(raw) if raw is not None and raw.isdigit() else None
            engine_clid = msg.get_str(526)
            if replace:
                if oid is None:
                    raise _Edge("unknown order")
            elif oid is None and engine_clid is None:
                raise _Edge("unknown order")
        else:
            oid, inst, account = known
            account = msg.get_str(1) or account
            engine_clid = None
        if replace:
            assert oid is not None
            return ReplaceOrder(
                account=account,
                instrument=inst.id,
                order_id=oid,
                qty=_units(msg, 38, inst.qty_increment, inst),
                price=_units(msg, 44, inst.price_increment, inst),
                display_qty=_units(msg, 111, inst.qty_increment, inst) if known is not None else None,
            )
        return CancelOrder(
            account=account, instrument=inst.id, order_id=oid, client_order_id=engine_clid or ""
        )


def _units(msg: FixMessage, tag: int, increment: str, inst: Instrument) -> int | None:
    """A FIX decimal as int units of ``increment``; ``_Edge`` if it is not a whole number of them."""
    v = msg.get(tag)
    if v is None:
        return None
    try:
        d = Decimal(v.decode("latin-1"))
    except InvalidOperation:
        raise _Edge(f"tag {tag} value {v!r} is not a number") from None
    if not d.is_finite():
        raise _Edge(f"tag {tag} value {v!r} is not a finite number")
    u = d / Decimal(increment)
    if u != u.to_integral_value():
        raise _Edge(f"tag {tag} value {d} is not a multiple of increment {increment} for {inst.id}")
    return int(u)
