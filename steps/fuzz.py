"""Model-based fuzzing of an external target against Chronex's reference (``chronex fuzz``).

A hypothesis ``RuleBasedStateMachine`` drives random order flows (orders of every side, IOC or DAY,
with or without self-trade prevention, at prices near the touch and at the edges of the tick
table's bands; cancels; quantity and price replaces; phases and clock moves) through the scenario
steps themselves, against the target and the oracle together (the external driver with the oracle
on). Each flow is a scenario: its steps are the Gherkin lines a suite would hold. The model leans
toward the patterns where venues' rules part ways (a replace followed by a trade, a self-trade, a
price at a tick band's edge), so that each kind of difference is met within a small budget.

When the two differ, hypothesis shrinks the flow to a minimal one; the flow is then run on an
in-process reference to learn what the rules say its outcome is (the trades and the book), and
written as a Gherkin scenario whose Then steps state that outcome. It fails on the differing
target and passes on one that follows the rules, with or without the oracle.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steps import values as V
from steps.context import Scenario
from steps.drivers.external import ENV_ORACLE, ENV_SESSIONS, ENV_TARGET
from steps.errors import StepFailed
from steps.instruments import default_instrument
from steps.registry import find, run_step
from steps.tables import Table
from system.engine import Instrument, TradeExecuted
from system.oracle.config import load_target

ACCOUNTS = ("alice", "bob")
# What a flow does next, by weight (see Flow.act): the patterns first.
KINDS = (
    ("queue",) * 3 + ("ladder",) * 3 + ("self_trade",) * 3 + ("replace_then_take",) * 2 + ("edge_order",) * 2
    + ("new_order",) * 2 + ("take", "cancel", "change_price", "phase", "wait")
)  # fmt: skip
MAX_FLOW = 7  # When steps; with the Given and two Then steps a scenario stays within 10
MAX_STEPS = 10  # steps of a written scenario
FINDINGS = ("The target and the oracle differ", "the target's report cannot be folded")


class FuzzBroke(RuntimeError):
    """The flow failed for another reason than a difference (the target went away, a bug)."""


@dataclass
class FuzzResult:
    examples: int
    steps: list[str] = field(default_factory=list)  # the minimal flow (empty: no difference found)
    error: str = ""
    feature: str = ""  # the Gherkin text written for it

    @property
    def found(self) -> bool:
        return bool(self.steps)


def prices(inst: Instrument, touch: int) -> list[str]:
    """Prices worth trying, as the scenario writes them: the touch and a tick either side, and the
    last price of the band below each tick-table edge near the touch (where tick tables go wrong)."""
    ticks = inst.tick_at(touch)
    units = {touch - ticks, touch, touch + ticks}
    for i, (frm, _) in enumerate(inst.tick_table):
        if i and touch // 3 <= frm <= touch * 2:
            units.add(frm - inst.tick_table[i - 1][1])
    return [V.fmt_price(inst, u) for u in sorted(units)]


def _text(ctx: Scenario, text: str) -> None:
    """Run one When step by its text, as a runner would."""
    matches = find("when", text)
    if len(matches) != 1:
        raise RuntimeError(f"fuzz made a step no single definition matches: {text!r}")
    sd, args = matches[0]
    run_step(sd, ctx, "when", text, args)


def reference_outcome(instrument: str, steps: list[str]) -> list[str]:
    """The Then steps that state what the rules make of ``steps`` (run on an in-process Chronex)."""
    from steps.library.book import book_rows
    from steps.library.trades import _row
    from steps.orderstate import fold

    ctx = Scenario(name="fuzz reference", feature="chronex fuzz", driver_name="inprocess", memory_log=True)
    try:
        inst = ctx.inst(instrument)
        for s in steps:
            _text(ctx, s)
        trades = [
            _row(ctx, e.valid_time, e.record) for e in ctx.events() if isinstance(e.record, TradeExecuted)
        ]
        cols = ["price", "qty", "buy order", "sell order"]
        out = []
        if trades:
            out.append("Then the trades are:")
            out += _table(cols, [[t[c] for c in cols] for t in trades])
        else:
            out.append("Then no trade happens")
        bcols, rows = book_rows(
            ctx.system().book(inst.id), inst, Table(("side", "price", "qty", "order"), ()), ctx
        )
        if rows:
            out.append(f"And the {inst.id} book is:")
            out += _table(bcols, [[r[c].lower() if c == "side" else r[c] for c in bcols] for r in rows])
        else:
            out.append(f"And the {inst.id} book is empty")
        # Orders that ended off the book without a trade (refused, cancelled, expired) show in
        # neither table: their status is stated too, as many as the 10-step limit leaves room for.
        by_id, _ = fold(ctx.events())
        room = MAX_STEPS - 3 - len(steps)
        for ref in ctx.orders.values():
            st_ = by_id.get(ref.order_id) if ref.order_id is not None else None
            status = st_.status if st_ is not None else "rejected"
            if status in ("rejected", "cancelled", "expired") and room > 0:
                out.append(f"And order {ref.name} is {status}")
                room -= 1
        return out
    finally:
        ctx.close()


def _table(cols: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)]

    def line(cells: list[str]) -> str:
        return "  | " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(cols), *(line(r) for r in rows)]


def gherkin(
    instrument: str, steps: list[str], outcome: list[str], *, seed: int, target: str, error: str
) -> str:
    first = next(
        (ln.strip() for ln in error.splitlines() if "differ" in ln), error.splitlines()[0] if error else ""
    )
    lines = [
        f"# Found by chronex fuzz --seed {seed} against {target}.",
        f"# {first}",
        "@fuzz",
        f"Feature: chronex fuzz finding (seed {seed})",
        "",
        f"  Scenario: {target} and the reference differ (seed {seed})",
        f"    Given the instrument {instrument}",
    ]
    for i, s in enumerate(steps):
        lines.append(f"    {'When' if i == 0 else 'And'} {s}")
    for s in outcome:
        lines.append(f"    {s}")
    return "\n".join(lines) + "\n"


def fuzz(
    sessions: Path,
    *,
    target: str | None,
    seed: int,
    budget: int,
    instrument: str = "XTKS:7203",
    touch: str = "2500",
    progress: Callable[[int], None] | None = None,
) -> FuzzResult:
    """Run up to ``budget`` random flows against the target named by ``sessions`` with the oracle
    on; the minimal differing flow, if one was found, with its scenario text."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as hseed
    from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

    os.environ[ENV_SESSIONS] = str(sessions.resolve())
    os.environ[ENV_TARGET] = target or ""
    os.environ[ENV_ORACLE] = "1"
    # Phases are moved through the target's control channel (a Chronex mock's); a target without
    # one cannot be asked to change phase over order entry, so its flows keep to one phase.
    phases = load_target(sessions, target=target).control is not None
    inst = default_instrument(instrument)
    price_texts = prices(inst, V.raw_price(inst, touch))
    state: dict[str, Any] = {"examples": 0, "steps": []}
    # Buys at the touch or a tick under, sells at the touch or a tick over, now and then a band's
    # edge: orders queue at one price, and cross at the touch.
    t0 = V.raw_price(inst, touch)
    tick = inst.tick_at(t0)
    edges = [p for p in price_texts if abs(V.raw_price(inst, p) - t0) > tick]
    buy_prices = [V.fmt_price(inst, t0 - tick), V.fmt_price(inst, t0)] * 3 + edges
    sell_prices = [V.fmt_price(inst, t0), V.fmt_price(inst, t0 + tick)] * 3 + edges
    tifs, stps = ("", "", "", "IOC"), ("", "", "", "stp CANCEL_NEWEST")
    stp_modes = ("CANCEL_NEWEST", "CANCEL_NEWEST", "CANCEL_OLDEST", "CANCEL_BOTH")

    def px(units: int) -> str:
        return V.fmt_price(inst, units)

    class Flow(RuleBasedStateMachine):
        """One flow. Besides single orders, cancels, replaces and clock moves, some rules play a
        short pattern where venues' rules part ways: a queue whose first order is replaced and then
        traded against (priority after a replace), an order of one account meeting its own resting
        order (self-trade prevention), orders at the last price under a tick band (tick tables),
        and, against a target with a control channel, a call auction and its uncross."""

        def __init__(self) -> None:
            super().__init__()
            n = state["examples"] + 1
            self.ctx = Scenario(name=f"fuzz {n}", feature="chronex fuzz", driver_name="fix", memory_log=True)
            self.ctx.inst(instrument)
            self.steps: list[str] = []
            self.n = 0
            self.auction = False  # the instrument is in a call auction (orders rest, nothing trades)
            self.rnd = random.Random(f"chronex fuzz {seed} {n}")  # str seeds hash the same in every run
            state["examples"] += 1
            state["steps"] = self.steps
            if progress is not None:
                progress(state["examples"])

        def run(self, text: str) -> None:
            if len(self.steps) >= MAX_FLOW:  # a rule of several steps may meet the limit: the rest is dropped
                return
            self.steps.append(text)
            try:
                _text(self.ctx, text)
            except StepFailed as e:
                # Kept here: hypothesis then replays the failing flow to check it, and a replay
                # is a new flow with other draws (hypothesis reports it as flaky).
                if "found" not in state and any(m in str(e) for m in FINDINGS):
                    state["found"] = (list(self.steps), str(e), state["examples"])
                raise

        def live(self) -> list[tuple[str, str]]:
            """The flow's orders still open (as the target reported them)."""
            if not self.ctx.orders:
                return []
            open_ids = {o.order_id for o in self.ctx.system().open_orders()}
            return [(r.account, r.name) for r in self.ctx.orders.values() if r.order_id in open_ids]

        def opened(self) -> list[tuple[Any, str, str]]:
            """(view, name, account) of the open orders, oldest first."""
            views = {v.order_id: v for v in self.ctx.system().open_orders()}
            return [(views[r.order_id], r.name, r.account) for r in self.ctx.orders.values()
                    if r.order_id is not None and r.order_id in views]  # fmt: skip

        def order(self, account: str, buy: bool, lots: int, price: str, tif: str, stp: str) -> str:
            self.n += 1
            name = f"o{self.n}"
            opts = " ".join(x for x in (tif, stp, f"as {name}") if x)
            qty = lots * inst.lot_size
            self.run(f"{account} {'buys' if buy else 'sells'} {qty} {instrument} at {price} {opts}")
            return name

        # One rule draws what the flow does next, from a list weighted toward the patterns where
        # venues' rules part ways, with the flow's own generator (seeded by --seed and the flow's
        # number: flows are independent draws). Hypothesis runs the machine; its own draws lean to
        # the simplest values and repeat earlier flows, and with rules of their own (each one
        # choice among equals, some switched off per flow) a three-step pattern came up only for
        # some seeds.
        @rule()
        def act(self) -> None:
            rnd = self.rnd
            kind = rnd.choice(KINDS)
            if not self.live() and kind in ("cancel", "take", "change_price"):
                kind = "new_order"
            getattr(self, kind)(rnd)

        def lots(self, rnd: random.Random) -> int:
            return rnd.randint(1, 3)

        def new_order(self, rnd: random.Random) -> None:
            buy = rnd.random() < 0.5
            price = rnd.choice(buy_prices if buy else sell_prices)
            self.order(rnd.choice(ACCOUNTS), buy, self.lots(rnd), price, rnd.choice(tifs), rnd.choice(stps))

        def edge_order(self, rnd: random.Random) -> None:
            """An order at the last price under a tick band's edge (where tick tables go wrong)."""
            edge = rnd.choice(edges or price_texts)
            self.order(rnd.choice(ACCOUNTS), rnd.random() < 0.5, self.lots(rnd), edge, "", "")

        def cancel(self, rnd: random.Random) -> None:
            account, name = rnd.choice(self.live())
            self.run(f"{account} cancels {name}")

        def queue(self, rnd: random.Random) -> None:
            """Two accounts' orders of one side at one price (a queue in time priority); mostly the
            first then asks for more and an order of the other side trades at that price: whether
            the larger order kept its place shows in which order trades first."""
            self._pair(rnd, apart=False)

        def ladder(self, rnd: random.Random) -> None:
            """The same with the first order a tick behind, mostly moved up to the second's price:
            whether the repriced order kept its time priority shows in which order trades first."""
            self._pair(rnd, apart=True)

        def _pair(self, rnd: random.Random, apart: bool) -> None:
            buy = rnd.random() < 0.5
            p = V.raw_price(inst, rnd.choice(buy_prices if buy else sell_prices))
            first, second = rnd.sample(ACCOUNTS, 2)
            a = self.order(
                first, buy, self.lots(rnd), px(p - tick if buy else p + tick) if apart else px(p), "", ""
            )
            self.order(second, buy, self.lots(rnd), px(p), "", "")
            if rnd.random() < 1 / 3:
                return
            how = rnd.choice(("price", "price", "quantity")) if apart else "quantity"
            views = {name: v for v, name, _ in self.opened()}
            if a not in views:  # refused (a price limit) or traded away on arrival
                return
            if how == "price":
                self.run(f"{first} changes the price of {a} to {px(p)}")
            else:
                more = views[a].qty + self.lots(rnd) * inst.lot_size
                self.run(f"{first} changes the quantity of {a} to {more}")
            self.order(rnd.choice(ACCOUNTS), not buy, self.lots(rnd), px(p), "", "")

        def replace_then_take(self, rnd: random.Random) -> None:
            """A resting order asks for more or moves to another order's price; then an order of
            the other side trades at its new price."""
            opened = self.opened()
            if not opened:
                return self.ladder(rnd)
            o, name, account = rnd.choice(opened)
            if rnd.random() < 0.5:
                self.run(
                    f"{account} changes the quantity of {name} to {o.qty + self.lots(rnd) * inst.lot_size}"
                )
                at = o.price
            else:
                others = sorted({v.price for v, _, _ in opened if v.side == o.side and v.price != o.price})
                at = rnd.choice(others or [o.price + tick if str(o.side) == "BUY" else o.price - tick])
                self.run(f"{account} changes the price of {name} to {px(at)}")
            self.order(rnd.choice(ACCOUNTS), str(o.side) != "BUY", self.lots(rnd), px(at), "", "")
            return None

        def self_trade(self, rnd: random.Random) -> None:
            """An account's order meets its own resting order (placed first when it has none):
            self-trade prevention decides."""
            opened = self.opened()
            if opened and rnd.random() < 0.5:
                o, _, account = rnd.choice(opened)
                buy, at = str(o.side) != "BUY", o.price
            else:
                account, buy = rnd.choice(ACCOUNTS), rnd.random() < 0.5
                at = V.raw_price(inst, rnd.choice(sell_prices if buy else buy_prices))
                self.order(account, not buy, self.lots(rnd), px(at), "", "")
            self.order(account, buy, self.lots(rnd), px(at), "", f"stp {rnd.choice(stp_modes)}")

        def take(self, rnd: random.Random) -> None:
            """An order of the other side at the oldest open order's price: it trades (or meets its
            own account's order, where self-trade prevention decides)."""
            (o, _, _) = self.opened()[0]
            self.order(
                rnd.choice(ACCOUNTS), str(o.side) != "BUY", self.lots(rnd), px(o.price), "", rnd.choice(stps)
            )

        def change_price(self, rnd: random.Random) -> None:
            account, name = rnd.choice(self.live())
            self.run(f"{account} changes the price of {name} to {rnd.choice(price_texts)}")

        def phase(self, rnd: random.Random) -> None:
            """Into a call auction or a halt, or back to continuous trading (an auction uncrosses);
            only through a target's control channel (else the clock moves instead)."""
            if not phases:
                return self.wait(rnd)
            if self.auction:
                self.run(f"{instrument} enters the CONTINUOUS phase")
            else:
                call = rnd.choice(("OPENING_AUCTION", "CLOSING_AUCTION", "HALTED"))
                self.run(
                    f"{instrument} is halted" if call == "HALTED" else f"{instrument} enters the {call} phase"
                )
            self.auction = not self.auction
            return None

        def wait(self, rnd: random.Random) -> None:
            """The clock moves (timers fire on the way, on the target and the oracle alike)."""
            self.run(f"{rnd.choice((1, 5, 30, 90, 600))} seconds pass")

        def teardown(self) -> None:
            self.ctx.close()

    machine = hseed(seed)(Flow)
    # Hypothesis generates; the shrinking is ours (below): a flow is a handful of steps, and each
    # try costs a round trip to the target, so dropping steps one by one is the cheap way down.
    opts = settings(
        max_examples=budget, stateful_step_count=MAX_FLOW, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), print_blob=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )  # fmt: skip
    try:
        run_state_machine_as_test(machine, settings=opts)
    except Exception as e:  # a difference (StepFailed, or hypothesis's flaky report of its replay)
        if "found" not in state:
            if isinstance(e, StepFailed):
                raise FuzzBroke(f"the fuzz run itself failed, not a difference: {e}") from None
            raise
        flow, first_error, found = state["found"]
        steps, error = shrink(instrument, flow, first_error)
        outcome = reference_outcome(instrument, steps)
        name = load_target(sessions, target=target).name
        text = gherkin(instrument, steps, outcome, seed=seed, target=name, error=error)
        return FuzzResult(found, steps, error, text)
    return FuzzResult(state["examples"])


def replay(instrument: str, steps: list[str]) -> str | None:
    """Run ``steps`` against the target and the oracle; the difference it shows (None: none)."""
    ctx = Scenario(name="fuzz shrink", feature="chronex fuzz", driver_name="fix", memory_log=True)
    try:
        ctx.inst(instrument)
        for s in steps:
            _text(ctx, s)
    except StepFailed as e:
        return str(e) if any(m in str(e) for m in FINDINGS) else None
    finally:
        ctx.close()
    return None


def shrink(instrument: str, steps: list[str], error: str) -> tuple[list[str], str]:
    """The flow with every step dropped that the difference does not need (one at a time, until
    no single drop keeps it), and the difference it then shows."""
    changed = True
    while changed:
        changed = False
        for i in range(len(steps)):
            trial = steps[:i] + steps[i + 1 :]
            if not trial:
                continue
            found = replay(instrument, trial)
            if found is not None:
                steps, error, changed = trial, found, True
                break
    return steps, error
