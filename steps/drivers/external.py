"""The external driver: scenarios against an outside system over FIX, Chronex's engine as the oracle.

``chronex run --driver fix --sessions FILE [--target HOST:PORT] [--oracle]``: the sessions file
names our FIX session with the target and marks it ``external`` (system/oracle/config.py). Order
entry (new, cancel, replace, mass cancel) goes to the target as FIX 4.4; every step reads only what
the target sends back: its execution reports, turned into Chronex order events
(``execreports.py``) and folded into a local mirror of the books, so ``book``, ``order``,
``open_orders`` and ``events`` answer from the target's own reports.

With the oracle on, every action also runs on a reference Chronex (in process, the same
scenario setup) and the two answers are compared as observations (system/oracle/compare.py);
a difference fails the step with both sequences side by side, the first divergence marked.

Everything is recorded: the run's log (the scenario's log file) holds the manifest, the
target's identity, every FIX message sent and received, the order events they mean and each
divergence, hash-chained like any Chronex log.

What an outside system cannot be asked: corrections and audit questions, read models (positions,
margin) and phases need Chronex's own state; scenarios that read them are tagged
``@reference-only`` and skipped here. Setting the target up or driving it (a calendar, risk limits,
a phase change, a reference price) needs a ``control`` address (a Chronex mock's admin channel,
reset before each scenario, its clock moved with the scenario's: control only, never read);
without one those commands raise ``DriverUnavailable`` and ``@needs-control`` scenarios are skipped.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

from steps.drivers.base import BookPoint, Driver, Reply, Setup
from steps.drivers.execreports import Pending, TargetOrder, Translator
from steps.drivers.fix import _num, new_order_single, replace_fields
from steps.drivers.inprocess import InProcessDriver
from steps.errors import DriverUnavailable
from system.bootstrap import SystemConfig, TradingSystem
from system.engine import (
    BookView,
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    Instrument,
    ListInstrument,
    OrderAccepted,
    OrderView,
    Phase,
    ReplaceOrder,
    SubmitOrder,
)
from system.eventlog import LoggedEvent, Verdict, open_log, verify
from system.eventlog.codec import canonical
from system.gateways.fix import FixInitiator, FixMessage, FixSession, store_factory
from system.gateways.fix.codec import format_timestamp
from system.gateways.fix.mapping import SIDE_CODE, chronex_dictionary
from system.oracle import (
    FixReceived,
    FixSent,
    OracleDiverged,
    TargetIdentified,
    Tolerances,
    compare,
    observe,
    render,
)
from system.oracle.compare import OBSERVED, Observation, as_json_lines
from system.oracle.config import TargetConfig, load_target
from system.oracle.resttarget import RestTargetConfig

ENV_SESSIONS = "CHRONEX_EXTERNAL_SESSIONS"
ENV_TARGET = "CHRONEX_EXTERNAL_TARGET"
ENV_ORACLE = "CHRONEX_ORACLE"
TIMEOUT_S = 60.0
MAX_WAIT_S = 5.0  # how long a reply the oracle says is incomplete is waited for
SETTLE_S = 0.05  # quiet that ends a reply the oracle's count says is complete


_RUNS = itertools.count(1)


def external_configured() -> bool:
    return bool(os.environ.get(ENV_SESSIONS))


class _Clock:
    """The scenario's time: the mirror's and SendingTime's clock."""

    def __init__(self, t: int = 0) -> None:
        self.t = t

    def now_ns(self) -> int:
        return self.t


class _Inbox:
    """The initiator's application: every application message, in arrival order."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.msgs: list[FixMessage] = []

    def on_logon(self, session: FixSession) -> None:
        pass

    def on_logout(self, session: FixSession) -> None:
        pass

    def from_app(self, msg: FixMessage, session: FixSession) -> None:
        with self.cond:
            self.msgs.append(msg)
            self.cond.notify_all()


class ExternalDriver(Driver):
    name = "external"
    wire = True

    def __init__(self, config: TargetConfig | RestTargetConfig | None = None) -> None:
        self.cfg: TargetConfig | RestTargetConfig = config or load_target(
            Path(os.environ[ENV_SESSIONS]),
            target=os.environ.get(ENV_TARGET) or None,
            oracle=os.environ.get(ENV_ORACLE) == "1",
        )
        self.oracle: InProcessDriver | None = None
        self.mirror: TradingSystem | None = None
        self.clock = _Clock()
        self.inbox = _Inbox()
        self.seen = 0
        self.tr: Translator | None = None
        self._setup: Setup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._initiator: FixInitiator | None = None
        self._session: FixSession | None = None
        self._control: Any = None
        self._n = 0
        self._events: list[LoggedEvent] = []
        self.divergences = 0
        self._run = next(_RUNS)

    @property
    def fix_config(self) -> TargetConfig:
        assert isinstance(self.cfg, TargetConfig), "a FIX target's driver"
        return self.cfg

    @property
    def session_name(self) -> str:
        s = self.fix_config.session
        return f"{s.sender_comp_id}->{s.target_comp_id}"

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, setup: Setup) -> None:
        self._setup = setup
        self.clock.t = setup.start_ns
        config = SystemConfig(
            seed=setup.seed, instruments=tuple(setup.instruments), venues=tuple(setup.venues),
            default_phase=setup.default_phase, risk=setup.risk, pricing=setup.pricing,
            label=f"{self._label()}: {setup.label}",
        )  # fmt: skip
        if self.cfg.control is not None:
            from system.server.admin import AdminClient

            self._control = AdminClient(*self.cfg.control)
            spec = {"config": canonical(config), "start_ns": setup.start_ns, "log": None}
            self.clock.t = int(self._control.call("reset", spec=spec)["now"])
        log = str(setup.log) if setup.log is not None else "memory://"
        # The mirror decides nothing: it lists the scenario's instruments and folds what the
        # target reports; its log is the run's record.
        self.mirror = TradingSystem(config, open_log(log, self.clock), self.clock)
        self.mirror.start()
        self.mirror.runtime.record(self._identity())
        self.tr = self._translator({i.id: i for i in setup.instruments})
        if self.cfg.oracle:
            self.oracle = InProcessDriver()
            self.oracle.start(Setup(**{**setup.__dict__, "log": None}))
        self._connect()

    def _identity(self) -> TargetIdentified:
        s = self.fix_config.session
        return TargetIdentified(self.cfg.name, self.cfg.host, self.cfg.port, s.sender_comp_id,
                                s.target_comp_id, self.cfg.sha256, self.cfg.oracle)  # fmt: skip

    def _translator(self, instruments: dict[str, Instrument]) -> Translator:
        return Translator(instruments)

    def _label(self) -> str:
        return f"external {self.cfg.name} at {self.cfg.host}:{self.cfg.port}"

    def _connect(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="external-driver", daemon=True)
        self._thread.start()
        self._initiator = FixInitiator(
            self.fix_config.session, self.inbox, self.clock, store_factory("memory:"), host=self.cfg.host,
            port=self.cfg.port, dictionary=chronex_dictionary(),
        )  # fmt: skip
        try:
            self._session = asyncio.run_coroutine_threadsafe(
                self._initiator.connect(reset=True), loop
            ).result(TIMEOUT_S)
        except (OSError, TimeoutError) as e:
            self.close()
            raise DriverUnavailable(
                f"target {self.cfg.name} at {self.cfg.host}:{self.cfg.port} is unreachable over FIX: {e}"
            ) from None

    def close(self) -> None:
        if self._initiator is not None and self._loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._initiator.stop(), self._loop).result(TIMEOUT_S)
            except Exception:  # a dead link is closed all the same
                pass
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._thread is not None:
                    self._thread.join(5)
                self._loop.close()
        self._initiator = self._loop = None
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.oracle is not None:
            self.oracle.close()
            self.oracle = None
        if self.mirror is not None:
            self.mirror.finish()
            self.mirror.store.close()
            self.mirror = None
            self._keep()

    def _keep(self) -> None:
        """Keep the run's record under ``<report>/external/`` (a scenario's own log is temporary)."""
        s = self._setup
        report = os.environ.get("CHRONEX_REPORT_DIR")
        if s is None or s.log is None or not s.log.exists() or not report:
            return
        slug = re.sub(r"[^A-Za-z0-9]+", "-", s.label.lower()).strip("-")[:80] or "scenario"
        dest = Path(report) / "external"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(s.log, dest / f"{slug}-{os.getpid()}-{self._run}.db")

    @property
    def m(self) -> TradingSystem:
        assert self.mirror is not None, "driver not started"
        return self.mirror

    # -- commands ----------------------------------------------------------------------------------
    def execute(self, command: Any) -> Reply:
        if isinstance(command, ListInstrument):
            assert self.tr is not None
            self.tr.instruments[command.instrument.id] = command.instrument
            if self._control is not None:
                self._control.execute(command)
            if self.oracle is not None:
                self.oracle.execute(command)
            return Reply(list(self.m.execute(command).events))
        fix = self._fix_message(command)
        if fix is None:
            if self._control is None:
                raise DriverUnavailable(
                    f"{type(command).__name__} cannot reach an external target over FIX without a control "
                    "channel (only order entry can): tag the scenario @needs-control"
                )
            return self._act(type(command).__name__, lambda: self._control.execute(command), command)
        msg_type, clid, body = fix
        return self._act(f"{type(command).__name__} {getattr(command, 'client_order_id', '') or clid}",
                         lambda: self._send(msg_type, body), command, clid)  # fmt: skip

    def _act(self, action: str, do: Any, command: Any = None, clid: str | None = None) -> Reply:
        """Do ``action`` on the target (and the oracle), wait for its reports, record, compare."""
        assert self.tr is not None
        self.tr.acting = clid
        before = self.m.store.head().seq
        do()
        expected: list[Observation] = []
        if self.oracle is not None:
            ohead = len(self.oracle.events())
            if command is not None:
                self.oracle.execute(command)
            expected = self._oracle_obs(ohead)
        got = self._collect(clid, len(expected))
        if self.oracle is not None:
            self._check(action, got, expected)
        self.m.runtime.flush()
        return Reply([e for e in self.m.store.read(before + 1)])

    def _oracle_obs(self, ohead: int) -> list[Observation]:
        assert self.oracle is not None
        names = {e.record.order_id: e.record.client_order_id for e in self.oracle.events()
                 if isinstance(e.record, OrderAccepted)}  # fmt: skip
        out = []
        for e in self.oracle.events()[ohead:]:
            if isinstance(e.record, OBSERVED):
                o = observe(e.record, e.valid_time, lambda i: names.get(i, "") if i is not None else "")
                if o is not None:
                    out.append(o)
        return out

    def _collect(self, clid: str | None, want: int) -> list[Observation]:
        """Read the target's reports until the direct answer to ``clid`` came, the oracle's count is
        reached (or ``MAX_WAIT_S`` passed) and the link has been quiet for the reply wait."""
        assert self.tr is not None
        got: list[Observation] = []
        answered = clid is None
        waited = 0.0
        quiet = self.cfg.reply_wait_s
        while True:
            # Once the answer came and the oracle's count is reached, a short quiet ends the reply.
            enough = answered and self.oracle is not None and len(got) >= want
            wait = min(SETTLE_S, quiet) if enough else quiet
            with self.inbox.cond:
                arrived = self.inbox.cond.wait_for(lambda: len(self.inbox.msgs) > self.seen, wait)
                new = self.inbox.msgs[self.seen :]
                self.seen = len(self.inbox.msgs)
            for msg in new:
                if clid is not None and msg.get_str(11) == clid:
                    answered = True
                got += self._receive(msg)
            if arrived:
                continue
            waited += wait
            if not answered:
                if waited >= TIMEOUT_S:
                    raise DriverUnavailable(
                        f"no answer from the target for ClOrdID {clid!r} in {TIMEOUT_S:.0f} s"
                    )
                continue
            if len(got) < want and waited < MAX_WAIT_S:
                continue
            return got

    def _receive(self, msg: FixMessage) -> list[Observation]:
        """Record ``msg`` and the events it means; their observations."""
        assert self.tr is not None
        rt = self.m.runtime
        rt.record(FixReceived(self.session_name, msg.msg_type or "", _wire(msg.fields)))
        if msg.msg_type == "j":
            raise DriverUnavailable(f"the target refused a message: {msg.get_str(58)}")
        out = []
        for rec, t in self.tr.translate(msg, self.clock.t):
            try:
                ev = rt.record(rec, valid_time=t)
            except (KeyError, ValueError) as e:
                raise AssertionError(
                    f"the target's report cannot be folded ({e!r}): {_wire(msg.fields)}"
                ) from None
            o = observe(ev.record, ev.valid_time, self.tr.name_of)
            if o is not None:
                out.append(o)
        return out

    def _check(self, action: str, got: list[Observation], expected: list[Observation]) -> None:
        tol: Tolerances = self.cfg.tolerances
        d = compare(got, expected, tol)
        if d is None:
            return
        self.divergences += 1
        self.m.runtime.record(
            OracleDiverged(action, d.index, as_json_lines(d.target), as_json_lines(d.oracle), d.fields)
        )
        self.m.runtime.flush()
        raise AssertionError(render(d, action, tol, self._readable))

    def _readable(self, o: Observation) -> Observation:
        """Prices and quantities as the scenario writes them, times as UTC text."""
        assert self._setup is not None and self.tr is not None
        insts = list(self.tr.instruments.values())
        inst = insts[0] if len(insts) == 1 else None
        out = dict(o)
        if inst is not None:
            for k in ("qty", "leaves"):
                if isinstance(out.get(k), int):
                    out[k] = _num(inst.qty_increment, out[k])
            if isinstance(out.get("price"), int):
                out["price"] = _num(inst.price_increment, out["price"])
        if isinstance(out.get("time"), int):
            out["time"] = _ts(out["time"])
        return out

    def _send(self, msg_type: str, body: list[tuple[int, str | bytes | int]]) -> None:
        loop, session = self._loop, self._session
        assert loop is not None and session is not None
        self.m.runtime.record(FixSent(self.session_name, msg_type, _wire([(k, v) for k, v in body])))
        done = threading.Event()

        def send() -> None:
            session.send(msg_type, body)
            done.set()

        loop.call_soon_threadsafe(send)
        if not done.wait(TIMEOUT_S):
            raise DriverUnavailable("the FIX link to the target did not take a message")

    def _clid(self) -> str:
        self._n += 1
        return f"x{self._n}"

    def _order(self, order_id: int | None) -> TargetOrder | None:
        assert self.tr is not None
        return None if order_id is None else self.tr.by_local.get(order_id)

    def _fix_message(self, cmd: Any) -> tuple[str, str, list[tuple[int, str | bytes | int]]] | None:
        """The FIX message for an order-entry command (None: not order entry)."""
        assert self.tr is not None
        ts = format_timestamp(self.clock.t)
        acct = self.cfg.tolerances.accounts
        if isinstance(cmd, SubmitOrder):
            inst = self.tr.instruments.get(cmd.instrument)
            if inst is None:
                raise DriverUnavailable(f"instrument {cmd.instrument!r} is not listed in this scenario")
            clid = self._clid()
            body = new_order_single(cmd, inst, clid, acct.get(cmd.account, cmd.account), ts)
            self.tr.pending[clid] = Pending("SubmitOrder", cmd)
            return "D", clid, body
        if isinstance(cmd, CancelOrder | ReplaceOrder):
            o = self._order(cmd.order_id)
            if o is None and isinstance(cmd, CancelOrder) and cmd.client_order_id:
                o = next((x for x in self.tr.by_local.values() if x.name == cmd.client_order_id), None)
            clid = self._clid()
            body = [(11, clid), (1, acct.get(cmd.account, cmd.account)), (55, cmd.instrument), (60, ts)]
            if o is not None:
                body = [(41, o.clid), (37, o.target_id), *body, (54, SIDE_CODE[o.cmd.side])]
            else:  # an order the target never acknowledged: let it say so
                body = [(41, f"unknown-{cmd.order_id}"), (37, str(cmd.order_id)), *body, (54, "1")]
            if isinstance(cmd, ReplaceOrder):
                inst = self.tr.instruments[cmd.instrument]
                body += [(40, "2"), *replace_fields(cmd, inst)]
                self.tr.pending[clid] = Pending("ReplaceOrder", cmd, o)
                return "G", clid, body
            self.tr.pending[clid] = Pending("CancelOrder", cmd, o)
            return "F", clid, body
        if isinstance(cmd, CancelAllOrders) and cmd.reason is CancelReason.USER:
            clid = self._clid()
            body = [(11, clid), (1, acct.get(cmd.account, cmd.account)), (60, ts)]
            body += [(530, "1"), (55, cmd.instrument)] if cmd.instrument is not None else [(530, "7")]
            self.tr.pending[clid] = Pending("CancelAllOrders", cmd)
            return "q", clid, body
        return None

    def add_venue(self, venue: str) -> None:
        if self._control is None:
            raise DriverUnavailable(
                "an external target's calendar is its own (no control channel): tag the scenario "
                "@needs-control"
            )
        self._control.call("add_venue", venue=venue)
        if self.oracle is not None:
            self.oracle.add_venue(venue)

    # -- queries: the mirror of what the target reported -------------------------------------------
    def book(self, instrument: str) -> BookView:
        return self.m.engine.book(instrument)

    def phase(self, instrument: str) -> Phase:
        raise DriverUnavailable("an external target does not publish its phases over order entry")

    def order(self, order_id: int) -> OrderView | None:
        return self.m.engine.order(order_id)

    def open_orders(self, account: str | None = None, instrument: str | None = None) -> list[OrderView]:
        return self.m.engine.open_orders(account, instrument)

    def events(self, from_seq: int = 1) -> list[LoggedEvent]:
        self.m.runtime.flush()
        have = self._events[-1].seq if self._events else 0
        if self.m.store.head().seq > have:
            self._events.extend(self.m.store.read(have + 1))
        return self._events[from_seq - 1 :] if from_seq > 1 else list(self._events)

    def book_history(self, instrument: str) -> list[BookPoint]:
        """None: an external target publishes no history of its book (reports show no book chart)."""
        return []

    # -- time --------------------------------------------------------------------------------------
    def now(self) -> int:
        return self.clock.t

    def run_until(self, t_ns: int) -> None:
        def move() -> None:
            if self._control is not None:
                self.clock.t = int(self._control.call("run_until", t=t_ns)["now"])
            else:
                self.clock.t = max(self.clock.t, t_ns)

        assert self.tr is not None
        self.tr.acting = None
        before = len(self.oracle.events()) if self.oracle is not None else 0
        move()
        if self.oracle is not None:
            self.oracle.run_until(t_ns)
            got = self._collect(None, len(self._oracle_obs(before)))
            self._check(f"the clock moved to {_ts(t_ns)}", got, self._oracle_obs(before))
        else:
            self._collect(None, 0)

    # -- the run's record --------------------------------------------------------------------------
    def verify_log(self) -> Verdict:
        self.m.runtime.flush()
        return verify(self.m.store)

    def log_path(self) -> Path | None:
        return None if self._setup is None else self._setup.log


def _ts(t: int) -> str:
    v: Any = format_timestamp(t)
    return v.decode() if isinstance(v, bytes) else str(v)


def _wire(fields: list[tuple[int, Any]]) -> str:
    def text(v: Any) -> str:
        return v.decode(errors="replace") if isinstance(v, bytes) else f"{v}"

    return "".join(f"{k}={text(v)}|" for k, v in fields)


__all__ = ["ENV_ORACLE", "ENV_SESSIONS", "ENV_TARGET", "ExternalDriver", "external_configured"]
