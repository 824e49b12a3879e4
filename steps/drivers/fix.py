"""The FIX driver: scenarios against ``chronex serve`` over the wire.

Orders, cancels, replaces and user mass cancels travel as FIX 4.4 messages on one initiator
session; everything else a step sends (listings, phase changes, reference prices, risk and
pricing commands, corrections) and every read (books, orders, the log, the book's history) goes
through the server's admin channel, as does clock control. Nothing reads the server's memory.

The server is started once per process (``chronex serve --allow-reset``) and reset for each
scenario, or reached at ``CHRONEX_FIX_TARGET=HOST:ADMIN_PORT`` (``chronex run --target``).
Audit questions answer from the scenario's log file, which the server writes where the scenario
asked (same machine); against a remote target the log stays in the server's memory and they are
unavailable.

A reply is the events the command caused: once the FIX answer for the order arrives (it is sent
only after the command is logged), the driver reads the log after its last known head and keeps
the entries whose causation id is the command's session-scoped id.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from steps.drivers import audit
from steps.drivers.base import AsOfView, BookPoint, Driver, RebaseView, Reply, RerunView, Setup
from steps.errors import DriverUnavailable
from system.bootstrap import SystemConfig, build_projections
from system.engine import (
    BookView,
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    Instrument,
    ListInstrument,
    OrderView,
    Phase,
    ReplaceOrder,
    SubmitOrder,
)
from system.eventlog import EventStore, LoggedEvent, Verdict, open_log, verify
from system.eventlog.codec import canonical
from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.codec import format_timestamp
from system.gateways.fix.config import parse_sessions
from system.gateways.fix.mapping import (
    ORD_TYPE_CODE,
    SIDE_CODE,
    STP_CODE,
    STP_TAG,
    TIF_CODE,
    chronex_dictionary,
    price_text,
    qty_text,
)
from system.server.admin import AdminClient
from system.server.process import ServeProcess

SESSION = "QA"  # the driver's CompID; the server is CHRONEX
Fields = list[tuple[int, str | bytes | int]]  # a FIX message body, tag by tag
SESSIONS_TOML = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "QA"
accounts = ["*"]
heartbeat_s = 30
sending_time_tolerance_s = 0
"""
TIMEOUT_S = 60.0

_server: ServeProcess | None = None
_server_lock = threading.Lock()


def _shared_server() -> tuple[str, int]:
    """The admin address of this process's server, started on first use."""
    global _server
    target = os.environ.get("CHRONEX_FIX_TARGET")
    if target:
        host, _, port = target.rpartition(":")
        return host or "127.0.0.1", int(port)
    with _server_lock:
        if _server is None or _server.proc.poll() is not None:
            d = Path(tempfile.mkdtemp(prefix="chronex-fix-driver-"))
            atexit.register(shutil.rmtree, d, True)  # after the server's terminate (LIFO)
            (d / "sessions.toml").write_text(SESSIONS_TOML, encoding="utf-8")
            _server = ServeProcess(
                [
                    "--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--allow-reset",
                    "--fix-port", "0", "--sessions", str(d / "sessions.toml"), "--start", "2027-01-04T00:00Z",
                ]
            )  # fmt: skip
            atexit.register(_server.terminate)
        return "127.0.0.1", _server.admin_port


class _Clock:
    """The initiator's clock: the server's virtual time as last heard (SendingTime)."""

    def __init__(self) -> None:
        self.t = 0

    def now_ns(self) -> int:
        return self.t


class _Client:
    """The initiator's application: answers waited for by ClOrdID."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.by_clid: dict[str, list[FixMessage]] = {}
        self.business_rejects: list[FixMessage] = []
        self.order_ids: dict[int, str] = {}  # engine order id -> the ClOrdID to cancel it by
        self.resent = 0  # application messages that came as PossDup resends (43=Y)

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        with self.cond:
            if msg.get(43) == b"Y":
                self.resent += 1
            if msg.msg_type == "j":
                self.business_rejects.append(msg)
            clid = msg.get_str(11)
            if clid is not None:
                self.by_clid.setdefault(clid, []).append(msg)
            oid = msg.get_str(37)
            if msg.msg_type == "8" and oid is not None and oid.isdigit() and clid is not None:
                self.order_ids[int(oid)] = clid
            self.cond.notify_all()

    def wait(
        self,
        clid: str,
        rejects_before: int,
        nudge: Callable[[], None] | None = None,
        held: Callable[[], bool] | None = None,
    ) -> FixMessage | None:
        """The first answer for ``clid``. A client that hears nothing for a second sends a
        TestRequest (``nudge``): its sequence number lets either side find a gap a fault made.
        None when ``held`` says the link holds messages back (a delay that lasts until the
        scenario moves the clock): the answer is then in flight, not lost."""
        with self.cond:
            ok = False
            step = 0.05 if held is not None else 1.0
            for i in range(int(TIMEOUT_S / step)):
                ok = self.cond.wait_for(
                    lambda: clid in self.by_clid or len(self.business_rejects) > rejects_before, step
                )
                if ok:
                    break
                if held is not None:
                    self.cond.release()
                    try:
                        if held():
                            return None
                    finally:
                        self.cond.acquire()
                if nudge is not None and (i + 1) % round(1.0 / step) == 0:
                    self.cond.release()
                    try:
                        nudge()
                    finally:
                        self.cond.acquire()
            if not ok:
                raise DriverUnavailable(f"no FIX answer for ClOrdID {clid!r} in {TIMEOUT_S:.0f} s")
            if clid in self.by_clid:
                return self.by_clid[clid][0]
            rej = self.business_rejects[-1]
            raise DriverUnavailable(f"the server refused ClOrdID {clid!r}: {rej.get_str(58)}")


class FixDriver(Driver):
    name = "fix"
    wire = True

    def __init__(self) -> None:
        self._admin: AdminClient | None = None
        self._setup: Setup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._initiator: FixInitiator | None = None
        self._session: FixSession | None = None
        self._client = _Client()
        self._clock = _Clock()
        self._n = 0
        self._events: list[LoggedEvent] = []
        self._instruments: dict[str, Instrument] = {}
        self._projections: list[Any] = []
        self._projected = 0
        self._faults: list[dict[str, Any]] = []

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def admin(self) -> AdminClient:
        assert self._admin is not None, "driver not started"
        return self._admin

    def start(self, setup: Setup) -> None:
        self._setup = setup
        host, port = self._address()
        self._admin = AdminClient(host, port)
        config = SystemConfig(
            seed=setup.seed,
            instruments=tuple(setup.instruments),
            venues=tuple(setup.venues),
            default_phase=setup.default_phase,
            risk=setup.risk,
            pricing=setup.pricing,
            label=setup.label,
        )
        log = str(setup.log) if setup.log is not None and "CHRONEX_FIX_TARGET" not in os.environ else None
        spec = {"config": canonical(config), "start_ns": setup.start_ns, "log": log}
        self._clock.t = int(self.admin.call("reset", spec=spec)["now"])
        self._instruments = {i.id: i for i in setup.instruments}
        self._projections = build_projections(config)
        self._projected = 0
        self._connect(host)

    def _address(self) -> tuple[str, int]:
        """The admin address of the server this driver talks to."""
        return _shared_server()

    def _connect(self, host: str) -> None:
        port = int(self.admin.call("ping")["fix_port"])
        ours = {"sender_comp_id": SESSION, "target_comp_id": "CHRONEX", "sending_time_tolerance_s": 0}
        cfg = parse_sessions({"session": [ours]}).sessions[0]
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fix-driver", daemon=True)
        self._thread.start()
        self._initiator = FixInitiator(
            cfg, self._client, self._clock, store_factory("memory:"), host=host, port=port,
            dictionary=chronex_dictionary(),
        )  # fmt: skip
        self._session = self._call(self._initiator.connect(reset=True))

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT_S)

    def _send(self, msg_type: str, body: list[tuple[int, str | bytes | int]]) -> None:
        self._reconnect_if_cut()
        loop, session = self._loop, self._session
        assert loop is not None and session is not None
        done = threading.Event()

        def send() -> None:
            session.send(msg_type, body)
            done.set()

        loop.call_soon_threadsafe(send)
        done.wait(TIMEOUT_S)

    def _test_request(self) -> None:
        self._n += 1
        self._send("1", [(112, f"nudge-{self._n}")])

    # -- faults on the link (the server applies them, in its clock's time) ----------------------
    def install_faults(self, faults: list[dict[str, Any]]) -> None:
        """Add ``faults`` (``[[fault]]`` tables of a fault plan) to the scenario's plan."""
        self._faults = [*self._faults, *faults]
        self.admin.call("faults", plan={"fault": self._faults})

    def fix_status(self) -> dict[str, Any]:
        """The server's FIX sessions (state, next sequence numbers) and the faults fired so far."""
        return self.admin.call("fix_status")

    def client_stats(self) -> dict[str, int]:
        """What our side saw: PossDup copies it ignored and application messages resent to it."""
        assert self._session is not None
        return {"duplicates_ignored": self._session.duplicates_ignored, "resent": self._client.resent}

    def _reconnect_if_cut(self) -> None:
        """After a fault cut the link: wait until both ends have seen it, then log on again with
        the sequence numbers both kept (the server then resends what it sent meanwhile)."""
        if not any(f.get("action") == "disconnect" for f in self._faults) or self._initiator is None:
            return
        ours = self.fix_status()["sessions"].get(f"CHRONEX->{SESSION}", {})
        session = self._session
        assert session is not None
        if ours.get("state") == "ACTIVE" and session.logged_on:
            return
        for _ in range(int(TIMEOUT_S / 0.05)):
            ours = self.fix_status()["sessions"].get(f"CHRONEX->{SESSION}", {})
            if ours.get("state") == "DISCONNECTED" and session.link is None:
                break
            threading.Event().wait(0.05)
        self._session = self._call(self._initiator.connect(reset=False))

    def settle(self, timeout_s: float = 10.0) -> None:
        """Wait until what the server sent has reached us (both ends agree on the numbers)."""
        for _ in range(int(timeout_s / 0.05)):
            ours = self.fix_status()["sessions"].get(f"CHRONEX->{SESSION}", {})
            out, inn = self.client_seqs()
            if ours.get("state") == "ACTIVE" and (ours.get("next_in"), ours.get("next_out")) == (out, inn):
                return
            threading.Event().wait(0.05)

    def client_seqs(self) -> tuple[int, int]:
        """Our side's next outgoing and next expected incoming MsgSeqNum."""
        assert self._session is not None
        st = self._session.store
        return st.next_sender_seq, st.next_target_seq

    def close(self) -> None:
        if self._initiator is not None and self._loop is not None:
            try:
                self._call(self._initiator.stop())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._thread is not None:
                    self._thread.join(5)
                self._loop.close()
        self._initiator = None
        self._loop = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    # -- commands --------------------------------------------------------------------------------
    def _head(self) -> int:
        return self._events[-1].seq if self._events else int(self.admin.call("head")["seq"])

    def _caused_by(self, cid: str, since: int) -> Reply:
        new = self.events(since + 1)
        return Reply([e for e in new if e.causation_id == cid and e.record.kind != "command"])

    def _clid(self) -> str:
        self._n += 1
        return f"w{self._n}"

    def _inst(self, ref: str) -> Instrument:
        inst = self._instruments.get(ref)
        if inst is None:
            raise DriverUnavailable(f"instrument {ref!r} is not listed in this scenario")
        return inst

    def execute(self, command: Any) -> Reply:
        if isinstance(command, ListInstrument):
            self._instruments[command.instrument.id] = command.instrument
        fix = self._fix_message(command)
        if fix is None:
            before = self._head()
            events = self.admin.execute(command)
            self._events_seen(before)
            return Reply(events)
        msg_type, client_id, clid, body = fix
        before = self._head()
        rejects = len(self._client.business_rejects)
        self._send(msg_type, body)
        held = self._link_holds if any(f.get("action") == "delay" for f in self._faults) else None
        self._client.wait(clid, rejects, self._test_request, held)
        return self._caused_by(f"{SESSION}/{client_id}", before)

    def _link_holds(self) -> bool:
        return int(self.fix_status().get("held", 0)) > 0

    def _events_seen(self, before: int) -> None:
        pass  # events() reads what is new on the next call

    def _fix_message(self, cmd: Any) -> tuple[str, str, str, list[tuple[int, str | bytes | int]]] | None:
        """The FIX message for an order-entry command (None: it goes through the admin channel)."""
        ts = format_timestamp(self._clock.t)
        if isinstance(cmd, SubmitOrder) and cmd.instrument in self._instruments:
            inst = self._inst(cmd.instrument)
            clid = self._clid()
            return "D", clid, clid, new_order_single(cmd, inst, clid, cmd.account, ts)
        if isinstance(cmd, CancelOrder) and cmd.instrument in self._instruments:
            clid = self._clid()
            body: Fields = [(11, clid), (1, cmd.account), (55, cmd.instrument), (54, "1"), (60, ts)]
            if cmd.order_id is not None:
                orig = self._client.order_ids.get(cmd.order_id)
                if orig is not None:
                    body.insert(0, (41, orig))
                body.append((37, str(cmd.order_id)))
            else:
                body.append((526, cmd.client_order_id))
            return "F", f"F:{clid}", clid, body
        if isinstance(cmd, ReplaceOrder) and cmd.instrument in self._instruments:
            inst = self._inst(cmd.instrument)
            clid = self._clid()
            body = [(11, clid), (1, cmd.account), (37, str(cmd.order_id)), (55, inst.id), (54, "1"), (60, ts),
                    (40, "2")]  # fmt: skip
            orig = self._client.order_ids.get(cmd.order_id)
            if orig is not None:
                body.insert(0, (41, orig))
            body += replace_fields(cmd, inst)
            return "G", f"G:{clid}", clid, body
        if isinstance(cmd, CancelAllOrders) and cmd.reason is CancelReason.USER:
            clid = self._clid()
            body = [(11, clid), (1, cmd.account), (60, ts)]
            if cmd.instrument is not None:
                body += [(530, "1"), (55, cmd.instrument)]
            else:
                body.append((530, "7"))
            return "q", f"q:{clid}", clid, body
        return None

    def add_venue(self, venue: str) -> None:
        self.admin.call("add_venue", venue=venue)

    # -- queries ---------------------------------------------------------------------------------
    def book(self, instrument: str) -> BookView:
        return self.admin.book(instrument)

    def phase(self, instrument: str) -> Phase:
        return self.admin.phase(instrument)

    def order(self, order_id: int) -> OrderView | None:
        return self.admin.order(order_id)

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        return self.admin.open_orders(account, instrument)

    def events(self, from_seq: int = 1) -> list[LoggedEvent]:
        have = self._events[-1].seq if self._events else 0
        self._events.extend(self.admin.events(have + 1))
        return self._events[from_seq - 1 :] if from_seq > 1 else list(self._events)

    def book_history(self, instrument: str) -> list[BookPoint]:
        pts = self.admin.call("book_history", instrument=instrument)["points"]
        return [BookPoint(int(s), int(t), msgspec.msgpack.decode(b, type=BookView)) for s, t, b in pts]

    # -- time ------------------------------------------------------------------------------------
    def now(self) -> int:
        return self._clock.t

    def run_until(self, t_ns: int) -> None:
        self._clock.t = int(self.admin.call("run_until", t=t_ns)["now"])
        self._after_clock()

    def advance(self, delta_ns: int) -> None:
        self._clock.t = int(self.admin.call("advance", t=delta_ns)["now"])
        self._after_clock()

    def _after_clock(self) -> None:
        """With faults on the link a clock move may release held messages or cut the link: come
        back on line and let what was released arrive before the next step looks."""
        if self._faults:
            self._reconnect_if_cut()
            self.settle()

    # -- audit, from the log file the server writes ------------------------------------------------
    def _log(self) -> EventStore:
        path = self.log_path()
        if path is None or not path.exists():
            raise DriverUnavailable("the fix driver answers audits from a local log file; there is none")
        from system.clock import FixedClock

        return open_log(path, FixedClock(0), create=False)

    def _audit(self, fn: Callable[[EventStore, Any], Any]) -> Any:
        from sim.replay import recorded_config

        store = self._log()
        try:
            return fn(store, recorded_config(store))
        finally:
            store.close()

    def replay_book(self, instrument: str, as_of_ns: int) -> BookView:
        result: BookView = self._audit(lambda s, c: audit.replay_book(s, c, instrument, as_of_ns))
        return result

    def as_of(self, valid_ns: int, known_at_ns: int | None = None) -> AsOfView:
        result: AsOfView = self._audit(lambda s, c: audit.as_of_view(s, c, valid_ns, known_at_ns))
        return result

    def rerun(self, overrides: Sequence[str] = ()) -> RerunView:
        result: RerunView = self._audit(lambda s, c: audit.rerun_view(s, overrides))
        return result

    def rebase(self, new_date: date) -> RebaseView:
        result: RebaseView = self._audit(lambda s, c: audit.rebase_view(s, c, new_date))
        return result

    def verify_log(self) -> Verdict:
        store = self._log()
        try:
            return verify(store)
        finally:
            store.close()

    def projection(self, kind: type[Any]) -> Any:
        """A read model of this build folded on this side from the server's log (the log is the
        truth, so a projection of it here equals the server's)."""
        self.events()
        have = self._projected
        for ev in self._events[have:]:
            for p in self._projections:
                p.handle(ev)
        self._projected = len(self._events)
        for p in self._projections:
            if isinstance(p, kind):
                return p
        raise DriverUnavailable(f"no {kind.__name__} read model in this build")

    def log_path(self) -> Path | None:
        s = self._setup
        if s is None or "CHRONEX_FIX_TARGET" in os.environ:
            return None
        return s.log


def new_order_single(cmd: SubmitOrder, inst: Instrument, clid: str, account: str, ts: str | bytes) -> Fields:
    """The NewOrderSingle body for ``cmd`` (every order type, TIF, STP mode, iceberg, stop,
    post-only, GTD and cross-currency flag), in the instrument's decimal units."""
    body: Fields = [
        (11, clid), (526, cmd.client_order_id), (1, account), (55, inst.id),
        (54, SIDE_CODE[cmd.side]), (60, ts), (38, _num(inst.qty_increment, cmd.qty)),
        (40, ORD_TYPE_CODE[cmd.order_type]), (59, TIF_CODE[cmd.tif]),
    ]  # fmt: skip
    if cmd.price is not None:
        body.append((44, _num(inst.price_increment, cmd.price)))
    if cmd.stop_price is not None:
        body.append((99, _num(inst.price_increment, cmd.stop_price)))
    if cmd.expire_time is not None:
        body.append((126, _exact_ts(cmd.expire_time)))
    if cmd.post_only:
        body.append((18, "6"))
    if cmd.display_qty:
        body.append((111, _num(inst.qty_increment, cmd.display_qty)))
    if cmd.stp.value != "NONE":
        body.append((STP_TAG, STP_CODE[cmd.stp]))
    if cmd.cross_currency:
        body.append((121, "Y"))
    return body


def replace_fields(cmd: ReplaceOrder, inst: Instrument) -> Fields:
    """What an OrderCancelReplaceRequest changes: quantity, price, displayed quantity."""
    out: Fields = []
    if cmd.qty is not None:
        out.append((38, _num(inst.qty_increment, cmd.qty)))
    if cmd.price is not None:
        out.append((44, _num(inst.price_increment, cmd.price)))
    if cmd.display_qty is not None:
        out.append((111, _num(inst.qty_increment, cmd.display_qty)))
    return out


def _num(increment: str, units: int) -> str:
    """Int units as FIX decimal text (negative and zero too: the engine judges them)."""
    d = units * Decimal(increment)
    return format(d.normalize(), "f") if d else "0"


def _exact_ts(t_ns: int) -> str:
    """UTCTimestamp with nanoseconds, so a GTD expiry survives the trip exactly."""
    from system.clock import to_datetime

    dt = to_datetime(t_ns)
    return f"{dt:%Y%m%d-%H:%M:%S}.{t_ns % 1_000_000_000:09d}"


__all__ = ["FixDriver", "price_text", "qty_text"]
