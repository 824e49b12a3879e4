"""The FIX application of ``chronex serve``: order entry and drop copy over the server core.

Inbound (decode, then ``sequencer.submit``; never a look at engine objects):

    D  NewOrderSingle            -> SubmitOrder        (client id: ClOrdID)
    F  OrderCancelRequest        -> CancelOrder        (client id: F:ClOrdID)
    G  OrderCancelReplaceRequest -> ReplaceOrder       (client id: G:ClOrdID)
    H  OrderStatusRequest        -> ExecutionReport 150=I from the gateway's order read model
    q  OrderMassCancelRequest    -> CancelAllOrders    (client id: q:ClOrdID) + OrderMassCancelReport

Outbound: every order event the router sends the session becomes an ExecutionReport (or an
OrderCancelReject for a refused cancel/replace); refused requests get an ER 39=8 with
OrdRejReason and Text, or a BusinessMessageReject. The full mapping tables are in docs/serve.md.

Prices and quantities cross the edge here: FIX decimals to int units by the instrument's
increments. Tick-table, lot and limit checks stay in the engine, so a badly priced order is a
logged engine rejection, exactly as in-process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from system.engine import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    Instrument,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    ReplaceOrder,
    SubmitOrder,
    TradeExecuted,
)
from system.eventlog.codec import LoggedEvent
from system.gateways.fix.codec import encode_fields, format_timestamp, parse_timestamp
from system.gateways.fix.config import SessionsConfig
from system.gateways.fix.mapping import (
    ANY_ACCOUNT,
    ORD_TYPES,
    POST_ONLY,
    SIDES,
    STP_TAG,
    STPS,
    TIFS,
    EdgeReject,
    FixOrder,
    cxl_rej_reason,
    exec_type_of,
    ord_rej_reason,
    to_units,
    units_bytes,
    wire_clordid,
    wire_decimal,
    wire_units,
)
from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import BusinessReject, BusinessRejectReason
from system.gateways.fix.session import FixSession
from system.server.routing import order_ids
from system.server.sequencer import Result, command_id
from system.server.server import Server


class OrderEntry:
    """The FIX ``Application`` for order-entry and drop-copy sessions of one server."""

    def __init__(self, server: Server, sessions: SessionsConfig) -> None:
        self.server = server
        self.config = sessions
        self.live: dict[str, FixSession] = {}
        # Per session: ClOrdID -> order id, and the order read model.
        self.by_clid: dict[str, dict[str, int]] = {}
        self.orders: dict[int, FixOrder] = {}
        self._cancel_clids: dict[str, tuple[str, str]] = {}  # command id -> (ClOrdID, OrigClOrdID)
        self._folded = False
        self._instruments: dict[str, Instrument] = {}  # reference data does not change once listed
        server.on_reset.append(self._reset)

    def _reset(self) -> None:
        """A fresh system behind the server: forget every order (ids start again at 1)."""
        self.by_clid.clear()
        self.orders.clear()
        self._cancel_clids.clear()
        self._instruments.clear()
        self._folded = False

    def instrument(self, ref: str) -> Instrument | None:
        inst = self._instruments.get(ref)
        if inst is None:
            inst = self.server.sequencer.instrument(ref)
            if inst is not None:
                self._instruments[ref] = inst
        return inst

    # -- naming --------------------------------------------------------------------------------
    @staticmethod
    def key(session: FixSession) -> str:
        """The server session a FIX session submits as: the peer's CompID."""
        return session.settings.target_comp_id

    def fold(self) -> None:
        """Rebuild the order read model from the log (a restart): events of session-owned orders."""
        router = self.server.router
        for ev in self.server.host.store.read(1):
            rec = ev.record
            if isinstance(rec, OrderAccepted) and rec.order_id in router.owner:
                self._apply(ev, router.owner[rec.order_id])
            elif isinstance(rec, (TradeExecuted, OrderCancelled, OrderExpired, OrderReduced, OrderReplaced)):
                for oid in order_ids(rec):
                    if oid in self.orders:
                        self._apply(ev, router.owner[oid], only=oid)
        self._folded = True

    # -- Application ---------------------------------------------------------------------------
    def on_logon(self, session: FixSession) -> None:
        if not self._folded:
            self.fold()
        k = self.key(session)
        self.live[k] = session
        router = self.server.router
        accounts = session.settings.accounts
        if session.settings.role == "drop-copy":
            accs = None if (not accounts or ANY_ACCOUNT in accounts) else accounts
            router.attach_drop_copy(k, _bind(self._drop_copy, session), accs)
        else:
            router.attach(k, _bind2(self._routed, session, k))

    def on_logout(self, session: FixSession) -> None:
        k = self.key(session)
        self.live.pop(k, None)
        # Sinks stay attached: the session layer stores what is sent while disconnected and
        # replays it on the peer's ResendRequest after the next logon (FIX guaranteed delivery).

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        if session.settings.role == "drop-copy":
            raise BusinessReject(BusinessRejectReason.NOT_AUTHORIZED, "drop-copy sessions cannot send orders")
        handler = self._handlers.get(msg.msg_type)
        if handler is None:
            raise BusinessReject(BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE, "Unsupported Message Type")
        handler(self, msg, session)

    # -- inbound -------------------------------------------------------------------------------
    def _account(self, msg: FixMessage, session: FixSession) -> str:
        accounts = session.settings.accounts
        acc = msg.get_str(1)
        if acc is None:
            if len(accounts) == 1 and accounts[0] != ANY_ACCOUNT:
                return accounts[0]
            raise EdgeReject(15, "Account (1) is required on this session")
        if accounts and ANY_ACCOUNT not in accounts and acc not in accounts:
            raise EdgeReject(15, f"account {acc!r} is not allowed on this session")
        return acc

    def _instrument(self, msg: FixMessage) -> Instrument:
        sym = msg.get_str(55)
        if sym is None:
            raise EdgeReject(1, "Symbol (55) is required")
        exch = msg.get_str(207)
        ref = f"{exch}:{sym}" if exch and ":" not in sym else sym
        inst = self.instrument(ref)
        if inst is None:
            raise EdgeReject(1, f"unknown instrument {ref!r}")
        return inst

    def decode_new_order(self, msg: FixMessage, session: FixSession) -> SubmitOrder:
        """A NewOrderSingle as the engine command it asks for; ``EdgeReject`` if it cannot be one."""
        account = self._account(msg, session)
        inst = self._instrument(msg)
        side = SIDES.get(msg.get(54) or b"")
        if side is None:
            raise EdgeReject(99, f"unsupported Side {msg.get_str(54)!r} (1 buy, 2 sell)")
        ot = ORD_TYPES.get(msg.get(40) or b"")
        if ot is None:
            raise EdgeReject(11, f"unsupported OrdType {msg.get_str(40)!r} (1, 2, 3, 4)")
        tif = TIFS.get(msg.get(59) or b"0")
        if tif is None:
            raise EdgeReject(11, f"unsupported TimeInForce {msg.get_str(59)!r}")
        qty = wire_units(msg.get(38), 38, inst.qty_increment, "quantity", inst, 13)
        if qty is None:
            raise EdgeReject(13, "OrderQty (38) is required")
        price = wire_units(msg.get(44), 44, inst.price_increment, "price", inst, 18)
        spx = wire_decimal(msg.get(99), 99)
        stop = None if spx is None else to_units(spx, inst.price_increment, "stop price", inst, 18)
        floor = wire_decimal(msg.get(111), 111)
        display = 0 if floor is None else to_units(floor, inst.qty_increment, "MaxFloor", inst, 13)
        expire = None
        et = msg.get(126)
        if et is not None:
            try:
                expire = parse_timestamp(et)
            except ValueError:
                raise EdgeReject(99, f"ExpireTime {et!r} is not a UTCTimestamp") from None
        stp = STPS.get(msg.get(STP_TAG) or b"0")
        if stp is None:
            raise EdgeReject(11, f"unsupported SelfTradePreventionInstruction {msg.get_str(STP_TAG)!r}")
        exec_inst = (msg.get_str(18) or "").split()
        # SecondaryClOrdID (526), when given, is the client's own id for the engine; ClOrdID stays
        # the wire's unique id (the BDD driver reuses engine ids across accounts on one session).
        return SubmitOrder(
            account=account,
            client_order_id=msg.get_str(526) or msg.get_str(11) or "",
            instrument=inst.id,
            side=side,
            qty=qty,
            order_type=ot,
            price=price,
            stop_price=stop,
            tif=tif,
            expire_time=expire,
            post_only=POST_ONLY in exec_inst,
            display_qty=display,
            stp=stp,
            cross_currency=msg.get(121) == b"Y",
        )

    def _new_order(self, msg: FixMessage, session: FixSession) -> None:
        clid = msg.get_str(11) or ""
        k = self.key(session)
        possdup = msg.get(43) == b"Y" or msg.get(97) == b"Y"
        try:
            cmd = self.decode_new_order(msg, session)
            if not possdup and self.server.sequencer.knows(k, clid):
                raise EdgeReject(6, f"duplicate ClOrdID {clid!r} in this session")
        except EdgeReject as e:
            self._reject_order(session, msg, e.reason, e.text)
            return

        done = _NewOrderDone(self, session, msg, k, clid)
        tel = self.server.sequencer.telemetry
        if tel is not None:
            tel.receive(
                "fix", "NewOrderSingle", command_id(k, clid), **{"fix.session": k, "fix.cl_ord_id": clid}
            )
        self.server.sequencer.submit(k, clid, cmd, done)

    def _find(self, session: FixSession, msg: FixMessage) -> FixOrder | None:
        k = self.key(session)
        oid: int | None = None
        orig = msg.get_str(41)
        if orig is not None:
            oid = self.by_clid.get(k, {}).get(orig)
        if oid is None:
            raw = msg.get(37)
            if raw is not None and raw.isdigit():
                oid = int(raw)
        if oid is None:
            return None
        o = self.orders.get(oid)
        if o is not None and self.server.router.owner.get(oid) != k:
            return None  # another session's order: as if unknown
        return o

    def _cancel(self, msg: FixMessage, session: FixSession) -> None:
        self._cancel_or_replace(msg, session, replace=False)

    def _replace(self, msg: FixMessage, session: FixSession) -> None:
        self._cancel_or_replace(msg, session, replace=True)

    def _cancel_or_replace(self, msg: FixMessage, session: FixSession, *, replace: bool) -> None:
        k = self.key(session)
        clid = msg.get_str(11) or ""
        orig = msg.get_str(41) or ""
        o = self._find(session, msg)
        possdup = msg.get(43) == b"Y"
        client_id = ("G:" if replace else "F:") + clid
        if not possdup and self.server.sequencer.knows(k, client_id):
            self._cancel_reject(session, clid, orig, o, 6, f"duplicate ClOrdID {clid!r}", replace)
            return
        cmd: Any
        if o is None:
            # Not one of this session's orders as far as the gateway knows: let the engine judge
            # (a logged UNKNOWN_ORDER or WRONG_ACCOUNT), if the request names an order at all.
            try:
                cmd = self._unknown_target(msg, session, replace)
            except EdgeReject as e:
                self._cancel_reject(session, clid, orig, None, e.reason, e.text, replace)
                return
        elif replace:
            try:
                qty_d = wire_decimal(msg.get(38), 38)
                px = wire_decimal(msg.get(44), 44)
                floor = wire_decimal(msg.get(111), 111)
                inst = o.inst
                cmd = ReplaceOrder(
                    account=msg.get_str(1) or o.account,
                    instrument=inst.id,
                    order_id=o.order_id,
                    qty=None if qty_d is None else to_units(qty_d, inst.qty_increment, "quantity", inst, 99),
                    price=None if px is None else to_units(px, inst.price_increment, "price", inst, 99),
                    display_qty=(
                        None if floor is None else to_units(floor, inst.qty_increment, "MaxFloor", inst, 99)
                    ),
                )
            except EdgeReject as e:
                self._cancel_reject(session, clid, orig, o, 99, e.text, replace)
                return
        else:
            account = msg.get_str(1) or o.account
            cmd = CancelOrder(account=account, instrument=o.inst.id, order_id=o.order_id)
        cid = f"{k}/{client_id}"
        self._cancel_clids[cid] = (clid, orig)

        def done(res: Result) -> None:
            if res.error is not None:
                self._cancel_reject(session, clid, orig, o, 99, res.error, replace)

        tel = self.server.sequencer.telemetry
        if tel is not None:
            kind = "OrderCancelReplaceRequest" if replace else "OrderCancelRequest"
            tel.receive("fix", kind, command_id(k, client_id), **{"fix.session": k, "fix.cl_ord_id": clid})
        self.server.sequencer.submit(k, client_id, cmd, done)

    def _unknown_target(self, msg: FixMessage, session: FixSession, replace: bool) -> Any:
        account = self._account(msg, session)
        inst = self._instrument(msg)
        raw = msg.get(37)
        oid = int(raw) if raw is not None and raw.isdigit() else None
        if replace:
            if oid is None:
                raise EdgeReject(1, "unknown order")
            qty_d, px = wire_decimal(msg.get(38), 38), wire_decimal(msg.get(44), 44)
            return ReplaceOrder(
                account=account,
                instrument=inst.id,
                order_id=oid,
                qty=None if qty_d is None else to_units(qty_d, inst.qty_increment, "quantity", inst, 99),
                price=None if px is None else to_units(px, inst.price_increment, "price", inst, 99),
            )
        engine_clid = msg.get_str(526)
        if oid is None and engine_clid is None:
            raise EdgeReject(1, "unknown order")
        return CancelOrder(
            account=account, instrument=inst.id, order_id=oid, client_order_id=engine_clid or ""
        )

    def _status(self, msg: FixMessage, session: FixSession) -> None:
        o = self._find(session, FixMessage.of([(41, msg.get(11) or b""), (37, msg.get(37) or b"")]))
        req = msg.get_str(790)
        if o is None:
            body: list[tuple[int, str | bytes | int]] = [
                (37, msg.get_str(37) or "NONE"),
                (11, msg.get_str(11) or ""),
                (17, f"status-{msg.get_str(11)}"),
                (150, "I"),
                (39, "8"),
                (54, msg.get_str(54) or "1"),
                (151, "0"),
                (14, "0"),
                (6, "0"),
                (58, "unknown order"),
            ]
            if req:
                body.append((790, req))
            session.send("8", body)
            return
        self._send_er(session, o, "I", "", extra=[(790, req)] if req else [])

    def _mass_cancel(self, msg: FixMessage, session: FixSession) -> None:
        k = self.key(session)
        clid = msg.get_str(11) or ""
        kind = msg.get_str(530) or ""
        try:
            account = self._account(msg, session)
            inst = self._instrument(msg).id if kind == "1" else None
            if kind not in ("1", "7"):
                raise EdgeReject(99, f"MassCancelRequestType {kind!r} is not supported (1 or 7)")
        except EdgeReject as e:
            self._mass_report(session, clid, kind, "0", 0, e.text)
            return
        cmd = CancelAllOrders(account=account, instrument=inst, reason=CancelReason.USER)

        def done(res: Result) -> None:
            if res.error is not None:
                self._mass_report(session, clid, kind, "0", 0, res.error)
                return
            n = sum(1 for e in res.events if isinstance(e.record, OrderCancelled))
            self._mass_report(session, clid, kind, kind, n, "")

        self.server.sequencer.submit(k, "q:" + clid, cmd, done)

    _handlers: dict[str, Callable[[OrderEntry, FixMessage, FixSession], None]] = {
        "D": _new_order,
        "F": _cancel,
        "G": _replace,
        "H": _status,
        "q": _mass_cancel,
    }

    # -- outbound ------------------------------------------------------------------------------
    def _reject_order(self, session: FixSession, msg: FixMessage, reason: int, text: str) -> None:
        body: list[tuple[int, str | bytes | int]] = [
            (37, "NONE"),
            (11, msg.get(11) or b""),
            (17, f"rej-{msg.get_str(34)}"),
            (150, "8"),
            (39, "8"),
            (103, reason),
            (55, msg.get(55) or b""),
            (54, msg.get(54) or b"1"),
            (151, "0"),
            (14, "0"),
            (6, "0"),
            (58, text),
        ]
        if msg.get(1) is not None:
            body.insert(2, (1, msg.get(1) or b""))
        session.send("8", body)

    def _cancel_reject(
        self,
        session: FixSession,
        clid: str,
        orig: str,
        o: FixOrder | None,
        reason: int,
        text: str,
        replace: bool,
    ) -> None:
        session.send(
            "9",
            [
                (37, "NONE" if o is None else str(o.order_id)),
                (11, clid),
                (41, orig),
                (39, "8" if o is None else o.status),
                (434, "2" if replace else "1"),
                (102, reason),
                (58, text),
            ],
        )

    def _mass_report(
        self, session: FixSession, clid: str, kind: str, response: str, n: int, text: str
    ) -> None:
        body: list[tuple[int, str | bytes | int]] = [
            (11, clid),
            (37, f"mass-{clid}"),
            (530, kind or "7"),
            (531, response),
            (533, n),
        ]
        if text:
            body.append((58, text))
        session.send("r", body)

    def _send_er(
        self,
        session: FixSession,
        o: FixOrder,
        exec_type: str,
        text: str,
        *,
        exec_id: str | None = None,
        last: tuple[int, int] | None = None,
        transact: int | None = None,
        extra: list[tuple[int, str | bytes | int]] | None = None,
    ) -> None:
        # Built as bytes: the order's fixed runs are encoded once (FixOrder.ids_part/terms_part);
        # what is added here is digits and FIX codes, or goes through encode_fields (Text, extra).
        inc = o.inst.qty_increment
        eid = exec_id or f"{o.order_id}-{exec_type}-{o.cum}-{o.leaves}"
        parts = [
            o.ids_part(),
            b"17=%s\x01150=%s\x0139=%s\x01" % (eid.encode("latin-1"), exec_type.encode(), o.status.encode()),
            o.terms_part(),
        ]
        if last is not None:
            parts.append(
                b"32=%s\x0131=%s\x01"
                % (units_bytes(inc, last[1]), units_bytes(o.inst.price_increment, last[0]))
            )
        parts.append(
            b"151=%s\x0114=%s\x016=%s\x01"
            % (units_bytes(inc, o.leaves), units_bytes(inc, o.cum), o.avg_px().encode("latin-1"))
        )
        if transact is not None:
            parts.append(b"60=%s\x01" % format_timestamp(transact))
        if text or extra:
            parts.append(encode_fields(([(58, text)] if text else []) + (extra or [])))
        session.send_encoded("8", b"".join(parts))

    # -- routed events -------------------------------------------------------------------------
    def _routed(self, ev: LoggedEvent, session: FixSession, k: str) -> None:
        for o, exec_type, text, last in self._apply(ev, k):
            eid = f"{ev.seq}-{o.order_id}"
            self._send_er(session, o, exec_type, text, exec_id=eid, last=last, transact=ev.valid_time)
        rec = ev.record
        if isinstance(rec, OrderRejected) and ev.causation_id.startswith(k + "/"):
            self._engine_reject(ev, rec, session)

    def _drop_copy(self, ev: LoggedEvent, session: FixSession) -> None:
        owner = self.server.router.owner
        rec = ev.record
        if isinstance(rec, OrderAccepted) and rec.order_id not in self.orders:
            self._apply(ev, owner.get(rec.order_id, ""))
        for oid in order_ids(rec):
            o = self.orders.get(oid)
            if o is None:
                continue
            exec_type, last = exec_type_of(rec, o)
            self._send_er(
                session, o, exec_type, "", exec_id=f"{ev.seq}-{oid}", last=last, transact=ev.valid_time
            )

    def _engine_reject(self, ev: LoggedEvent, rec: OrderRejected, session: FixSession) -> None:
        cid = ev.causation_id
        if rec.command == "SubmitOrder":
            session.send(
                "8",
                [
                    (37, "NONE"),
                    (11, wire_clordid(cid, rec.client_order_id)),
                    (1, rec.account),
                    (17, f"{ev.seq}-rej"),
                    (150, "8"),
                    (39, "8"),
                    (103, ord_rej_reason(rec.reason)),
                    (55, rec.instrument),
                    (54, "1"),
                    (151, "0"),
                    (14, "0"),
                    (6, "0"),
                    (58, f"{rec.reason}: {rec.text}"),
                ],
            )
        elif rec.command in ("CancelOrder", "ReplaceOrder"):
            clid, orig = self._cancel_clids.pop(cid, (wire_clordid(cid, ""), ""))
            o = None if rec.order_id is None else self.orders.get(rec.order_id)
            self._cancel_reject(
                session, clid, orig, o, cxl_rej_reason(rec.reason), f"{rec.reason}: {rec.text}",
                rec.command == "ReplaceOrder",
            )  # fmt: skip

    def _apply(
        self, ev: LoggedEvent, k: str, *, only: int | None = None
    ) -> list[tuple[FixOrder, str, str, tuple[int, int] | None]]:
        """Fold ``ev`` into the read model; the (order, ExecType, Text, last fill) to report."""
        rec = ev.record
        out: list[tuple[FixOrder, str, str, tuple[int, int] | None]] = []
        if isinstance(rec, OrderAccepted):
            inst = self.instrument(rec.instrument)
            if inst is None:
                return out
            wire = wire_clordid(ev.causation_id, rec.client_order_id)
            o = FixOrder(
                rec.order_id, rec.account, inst, rec.side, rec.order_type, rec.tif, rec.price, rec.qty,
                wire, leaves=rec.qty,
            )  # fmt: skip
            self.orders[rec.order_id] = o
            self.by_clid.setdefault(k, {})[wire] = rec.order_id
            out.append((o, "0", "", None))
            return out
        for oid in order_ids(rec):
            if only is not None and oid != only:
                continue
            found = self.orders.get(oid)
            if found is None or self.server.router.owner.get(oid) != k:
                continue
            o = found
            exec_type, last = exec_type_of(rec, o)
            text = ""
            if isinstance(rec, TradeExecuted):
                px = rec.price
                if rec.cross_instrument == o.inst.id and rec.cross_price is not None:
                    px = rec.cross_price
                o.cum += rec.qty
                o.value += px * rec.qty
                o.leaves = max(o.leaves - rec.qty, 0)
                o.status = "2" if o.leaves == 0 else "1"
                last = (px, rec.qty)
            elif isinstance(rec, OrderCancelled):
                o.leaves = 0
                o.status = "4"
                text = str(rec.reason)
                clids = self._cancel_clids.pop(ev.causation_id, None)
                if clids is not None:
                    o.orig_cl_ord_id, o.cl_ord_id = clids[1], clids[0]
            elif isinstance(rec, OrderExpired):
                o.leaves = 0
                o.status = "C"
                text = str(rec.reason)
            elif isinstance(rec, OrderReduced):
                o.leaves = rec.leaves
                o.qty = o.cum + rec.leaves
                o.status = "4" if rec.leaves == 0 else o.status
                text = str(rec.reason)
            elif isinstance(rec, OrderReplaced):
                o.price = rec.price
                o.qty = rec.qty
                o.leaves = rec.leaves
                clids = self._cancel_clids.pop(ev.causation_id, None)
                if clids is not None:
                    o.orig_cl_ord_id, o.cl_ord_id = clids[1], clids[0]
                    self.by_clid.setdefault(k, {})[clids[0]] = oid
                o.status = "1" if o.cum else "0"
            out.append((o, exec_type, text, last))
        return out


def _bind(
    fn: Callable[[LoggedEvent, FixSession], None], session: FixSession
) -> Callable[[LoggedEvent], None]:
    return lambda ev: fn(ev, session)


def _bind2(
    fn: Callable[[LoggedEvent, FixSession, str], None], session: FixSession, k: str
) -> Callable[[LoggedEvent], None]:
    return lambda ev: fn(ev, session, k)


class _NewOrderDone:
    """A NewOrderSingle's reply once its batch is in the log (a reject or a duplicate answered
    here; an accepted order's ER comes from the routed events). A slotted object rather than a
    closure: one object the cycle collector tracks while the order is in flight, not seven (the
    function, its five cells and their tuple), which young collections walked for every order."""

    __slots__ = ("clid", "entry", "k", "msg", "session")

    def __init__(self, entry: OrderEntry, session: FixSession, msg: FixMessage, k: str, clid: str) -> None:
        self.entry = entry
        self.session = session
        self.msg = msg
        self.k = k
        self.clid = clid

    def __call__(self, res: Result) -> None:
        entry = self.entry
        if res.error is not None:
            entry._reject_order(self.session, self.msg, 6 if "already used" in res.error else 99, res.error)
        elif res.duplicate:
            oid = entry.by_clid.get(self.k, {}).get(self.clid)
            if oid is not None and oid in entry.orders:
                entry._send_er(self.session, entry.orders[oid], "I", "status after a possible duplicate")
