"""An equities OEMS in the Tora style: a FIX 4.4 acceptor for clients with configurable custom
tags, routing their orders to ``chronex serve`` over a FIX initiator.

- Client NewOrderSingle (D), OrderCancelRequest (F), OrderCancelReplaceRequest (G) are checked
  (the custom tags by the session layer's dictionary: an unknown value is a Reject 373=5, a
  missing required tag a Reject 373=1 naming it, as QuickFIX answers), given an upstream ClOrdID
  (``T<n>``), stripped of the custom tags and sent upstream.
- Upstream ExecutionReports and OrderCancelRejects come back to the client that owns the order,
  with the client's ClOrdID/OrigClOrdID, the OEMS OrderID (``T<n>``) and the order's custom tags.
- Anything else from a client is a BusinessMessageReject 380=3. With the upstream down a new
  order is refused at once: ER 39=8 103=99, Text ``ROUTE_DOWN: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from dataclasses import dataclass, field
from pathlib import Path

from mocks.base import MockContext, MockError
from mocks.links import fix_link, release_all
from mocks.profile import Fields
from system.clock import WallClock
from system.gateways.fix import FixAcceptor, FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.config import ConfigError, SessionSettings, parse_sessions
from system.gateways.fix.dictionary import Dictionary, FieldDef
from system.gateways.fix.mapping import chronex_dictionary
from system.gateways.fix.reasons import SessionReject, SessionRejectReason, UnsupportedMessageType
from system.gateways.fix.transport import FixConnection

__all__ = ["DEFAULT_PROFILE", "CustomTag", "OemsMock"]

DEFAULT_PROFILE = Path(__file__).with_name("default.toml")
NAME = "oems"
TYPES = ("STRING", "CHAR", "INT", "PRICE", "QTY", "BOOLEAN")
# Order fields routed upstream as they came (everything else but the custom tags is dropped).
ROUTED = (1, 55, 207, 54, 38, 40, 44, 99, 59, 126, 18, 111, 60, 7928, 526, 121)


@dataclass(frozen=True, slots=True)
class CustomTag:
    tag: int
    name: str
    type: str
    required: bool
    values: tuple[str, ...]


@dataclass
class _Order:
    oems_id: str
    session: FixSession
    clid: str  # the client's current ClOrdID
    upstream: str  # the upstream ClOrdID the order lives under now
    tags: list[tuple[int, bytes]]
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # upstream clid -> (client clid, orig)
    subs: int = 0  # cancel/replace requests so far (their upstream ids are T<n>-<k>)


def custom_dictionary(tags: tuple[CustomTag, ...]) -> Dictionary:
    d = copy.copy(chronex_dictionary())
    d.fields = dict(d.fields)
    for t in tags:
        values = frozenset(v.encode() for v in t.values) if t.values else None
        d.fields[t.tag] = FieldDef(t.tag, t.name, t.type, values)
    return d


class OemsMock:
    name = NAME

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx
        top = Fields(ctx.profile, "")
        top.unknown({"oems", "tag"})
        o = top.sub("oems")
        o.unknown({"sender_comp_id", "upstream_sender", "upstream_target", "heartbeat_s", "client"})
        me = o.text("sender_comp_id", "TORA")
        hb = o.integer("heartbeat_s", 30, low=1)
        clients = [{"sender_comp_id": me, "heartbeat_s": hb, **c.t} for c in o.tables("client")]
        if not clients:
            raise MockError(f"{NAME}: oems.client: at least one [[oems.client]] is required")
        try:
            self.sessions = parse_sessions({"session": clients}, f"{NAME} profile oems.client")
        except ConfigError as e:
            raise MockError(str(e)) from None
        tags = []
        for t in top.tables("tag"):
            t.unknown({"tag", "name", "type", "required", "values"})
            num = t.integer("tag", 0, low=5000, high=9999)  # FIX's user-defined range
            kind = t.text("type", "STRING")
            if kind not in TYPES:
                raise MockError(f"{t.where}.type: {kind!r} is not one of {', '.join(TYPES)}")
            tags.append(CustomTag(num, t.text("name"), kind, t.flag("required", False), t.texts("values")))
        if len({t.tag for t in tags}) != len(tags):
            raise MockError(f"{NAME}: tag: a tag number is listed twice")
        self.tags = tuple(tags)
        self.upstream_settings = SessionSettings(
            sender_comp_id=o.text("upstream_sender", "OEMS"),
            target_comp_id=o.text("upstream_target", "CHRONEX"),
            sending_time_tolerance_s=0, heartbeat_s=hb,
        )  # fmt: skip
        serve = ctx.targets.get("serve")
        if serve is None:
            raise MockError(f"{NAME}: needs the FIX address of chronex serve (--target serve=host:port)")
        self.up_host, _, port = serve.rpartition(":")
        self.up_port = int(port)
        self.dictionary = custom_dictionary(self.tags)
        self.client_link = fix_link(NAME, ctx, "client")
        self.up_link = fix_link(NAME, ctx, "upstream")
        self.acceptor: FixAcceptor | None = None
        self.upstream: FixSession | None = None
        self._initiator: FixInitiator | None = None
        self._n = 0
        self.orders: dict[str, _Order] = {}  # by upstream ClOrdID (every one the order had)
        self.by_client: dict[tuple[str, str], _Order] = {}  # (client CompID, client ClOrdID)
        self._tasks: list[asyncio.Task[None]] = []
        self.routed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        link = self.client_link

        class _Acceptor(FixAcceptor):
            def connection(self) -> FixConnection:
                conn = link(binder=self._bind, faults=self.faults, on_closed=self._closed)
                self._conns[conn] = self.timer_clock.now_ns()
                return conn

        self.acceptor = _Acceptor(
            self.sessions, _Clients(self), self.ctx.clock, store_factory("memory:"), host=self.ctx.host,
            port=self.ctx.port, timer_clock=WallClock(), dictionary=self.dictionary,
        )  # fmt: skip
        try:
            await self.acceptor.start()
        except OSError as e:
            raise MockError(f"{NAME}: --port {self.ctx.port}: {e.strerror or e}") from None
        self._tasks.append(asyncio.create_task(self._keep_upstream()))
        self._tasks.append(asyncio.create_task(self._tick()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._initiator is not None:
            with contextlib.suppress(Exception):
                await self._initiator.stop(timeout_s=1.0)
        if self.acceptor is not None:
            await self.acceptor.stop()

    def endpoints(self) -> dict[str, str]:
        port = self.acceptor.port if self.acceptor is not None else self.ctx.port
        return {"fix": f"{self.ctx.host}:{port}", "dials": f"{self.up_host}:{self.up_port}"}

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            release_all(self.client_link)
            release_all(self.up_link)

    async def _keep_upstream(self) -> None:
        while True:
            if self.upstream is None or self.upstream.link is None:
                self.upstream = None
                ini = FixInitiator(
                    self.upstream_settings, _Upstream(self), self.ctx.clock, store_factory("memory:"),
                    host=self.up_host, port=self.up_port, timer_clock=WallClock(),
                    dictionary=chronex_dictionary(), link=self.up_link,
                )  # fmt: skip
                try:
                    self.upstream = await ini.connect(reset=True)
                    self._initiator = ini
                    self.routed.set()
                except (ConnectionError, OSError):
                    with contextlib.suppress(Exception):
                        await ini.stop(timeout_s=0.1)
            await asyncio.sleep(0.2)

    # -- client side -----------------------------------------------------------------------------
    def _check_tags(self, msg: FixMessage) -> list[tuple[int, bytes]]:
        for t in self.tags:
            if t.required and msg.get(t.tag) is None:
                raise SessionReject(SessionRejectReason.REQUIRED_TAG_MISSING, t.tag)
        return [(t.tag, v) for t in self.tags if (v := msg.get(t.tag)) is not None]

    def _next(self) -> str:
        self._n += 1
        return f"T{self._n}"

    def client_message(self, msg: FixMessage, session: FixSession) -> None:
        kind = msg.msg_type
        if kind not in ("D", "F", "G"):
            raise UnsupportedMessageType()
        who = session.settings.target_comp_id
        clid = msg.get_str(11) or ""
        tags = self._check_tags(msg) if kind in ("D", "G") else []
        up = self.upstream
        if kind == "D":
            if (who, clid) in self.by_client:
                self._reject(session, msg, 6, f"DUPLICATE: ClOrdID {clid!r} already used")
                return
            if up is None or not up.logged_on:
                self._reject(session, msg, 99, "ROUTE_DOWN: no session to the venue")
                return
            oid = self._next()
            placed = _Order(oid, session, clid, oid, tags)
            self.orders[oid] = placed
            self.by_client[(who, clid)] = placed
            up.send("D", [(11, oid), *self._routed(msg)])
            return
        orig = msg.get_str(41) or ""
        order = self.by_client.get((who, orig))
        if order is None or up is None or not up.logged_on:
            session.send(
                "9", [(37, "NONE"), (11, clid), (41, orig), (39, "8"), (434, "1" if kind == "F" else "2"),
                      (102, "1"), (58, "UNKNOWN_ORDER" if order is None else "ROUTE_DOWN")],
            )  # fmt: skip
            return
        order.subs += 1
        new = f"{order.oems_id}-{order.subs}"
        order.pending[new] = (clid, orig)
        self.orders[new] = order
        self.by_client[(who, clid)] = order
        if kind == "G" and tags:
            order.tags = tags
        up.send(kind, [(11, new), (41, order.upstream), *self._routed(msg)])

    @staticmethod
    def _routed(msg: FixMessage) -> list[tuple[int, str | bytes | int]]:
        return [(t, v) for t in ROUTED if (v := msg.get(t)) is not None]

    def _reject(self, session: FixSession, msg: FixMessage, reason: int, text: str) -> None:
        session.send(
            "8", [(37, "NONE"), (11, msg.get(11) or b""), (17, f"rej-{msg.get_str(34)}"), (150, "8"),
                  (39, "8"), (103, reason), (55, msg.get(55) or b""), (54, msg.get(54) or b"1"), (151, "0"),
                  (14, "0"), (6, "0"), (58, text)],
        )  # fmt: skip

    # -- upstream side ---------------------------------------------------------------------------
    def upstream_message(self, msg: FixMessage) -> None:
        if msg.msg_type not in ("8", "9"):
            return
        up_clid = msg.get_str(11) or ""
        order = self.orders.get(up_clid)
        if order is None:
            return
        client_clid, client_orig = order.clid, ""
        if up_clid in order.pending:
            client_clid, client_orig = order.pending[up_clid]
            if msg.msg_type == "8" and msg.get(150) in (b"4", b"5"):
                order.upstream = up_clid  # the order lives under the new id from now on
                order.clid = client_clid
                del order.pending[up_clid]
            elif msg.msg_type == "9":
                del order.pending[up_clid]
        out: list[tuple[int, str | bytes | int]] = []
        for tag, value in msg.fields:
            if tag in _HEADER:
                continue
            if tag == 11:
                out.append((11, client_clid))
            elif tag == 41:
                out.append((41, client_orig or value))
            elif tag == 37:
                out.append((37, order.oems_id))
            else:
                out.append((tag, value))
        if msg.msg_type == "8":
            out += order.tags
        if order.session.logged_on:
            order.session.send(msg.msg_type, out)


_HEADER = frozenset({8, 9, 35, 34, 49, 56, 52, 43, 97, 122, 10, 115, 128, 50, 57})


class _Clients:
    def __init__(self, oems: OemsMock) -> None:
        self.oems = oems

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.oems.client_message(msg, session)


class _Upstream:
    def __init__(self, oems: OemsMock) -> None:
        self.oems = oems

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        self.oems.upstream_message(msg)
