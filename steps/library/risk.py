"""Steps for accounts, balances and limits, marks and FX, positions, P&L, margin, account events
and the kill switch. Given steps build the run's risk configuration (the ``[risk]`` table of
config/risk.example.toml); the system starts with risk and pricing on once any of them is used."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from steps import describe
from steps import values as V
from steps.context import Scenario
from steps.errors import StepInputError
from steps.registry import given, step, then
from steps.tables import Table, diff

ACCOUNT_LIMITS = (
    "max_order_qty",
    "max_notional",
    "collar_bp",
    "collar_ticks",
    "max_open_orders",
    "max_orders_per_second",
    "max_position",
    "credit",
    "maker_fee_bp",
    "taker_fee_bp",
)
INSTRUMENT_LIMITS = ("max_order_qty", "max_position", "collar_bp", "collar_ticks")
INT_KEYS = {
    "collar_bp",
    "collar_ticks",
    "max_open_orders",
    "max_orders_per_second",
    "maker_fee_bp",
    "taker_fee_bp",
}
ACCOUNT_EVENTS = (
    "MarginWarning",
    "MarginCall",
    "MarginRestored",
    "LimitBreached",
    "KillSwitchEngaged",
    "KillSwitchReleased",
)


def _raw(ctx: Scenario) -> dict[str, Any]:
    if ctx.started:
        # The configuration is read once, when the system starts: a later change would be ignored.
        raise StepInputError(
            "risk must be set up before the system starts (move this step above the first order)"
        )
    raw: dict[str, Any] | None = ctx.bag.get("risk_raw")
    if raw is None:
        raw = {"accounts": {}}
        ctx.bag["risk_raw"] = raw
        ctx.on_start.append(_configure)
    return raw


def _parse(raw: dict[str, Any]) -> Any:
    from system.pricing import ConfigError
    from system.risk import parse_risk

    try:
        return parse_risk(raw, "scenario")
    except ConfigError as e:
        raise StepInputError(str(e)) from None


def _configure(ctx: Scenario) -> None:
    from system.pricing import parse_pricing

    ctx.risk = _parse(ctx.bag["risk_raw"])
    ctx.pricing = parse_pricing(ctx.bag.get("pricing_raw", {}), "scenario")


def _account(ctx: Scenario, account: str) -> dict[str, Any]:
    accounts: dict[str, Any] = _raw(ctx)["accounts"]
    return accounts.setdefault(account, {})  # type: ignore[no-any-return]


def _value(key: str, text: str) -> Any:
    if key in INT_KEYS:
        return V.integer(text, key)
    return str(V.decimal(text, key))


def _set(ctx: Scenario, target: dict[str, Any], key: str, text: str, allowed: tuple[str, ...]) -> None:
    if key not in allowed:
        raise StepInputError(f"limit {key!r} is unknown (one of: {', '.join(allowed)})")
    target[key] = _value(key, text)
    _parse(ctx.bag["risk_raw"])  # fail at this step, naming the key, rather than at start


@given("risk checks are on", "Given risk checks are on")
def risk_on(ctx: Scenario) -> None:
    """Run pre-trade risk, positions and margin (with the default limits) and pricing."""
    _raw(ctx)


@given("account {account:Name} holds {amount:Qty} {ccy:Word}", "Given account alice holds 1,000,000 JPY")
def holds(ctx: Scenario, account: str, amount: str, ccy: str) -> None:
    """The account's opening cash in a currency."""
    _account(ctx, account).setdefault("balances", {})[ccy.upper()] = str(V.decimal(amount, "amount"))
    _parse(ctx.bag["risk_raw"])


@given("account {account:Name} reports in {ccy:Word}", "Given account alice reports in USD")
def reports_in(ctx: Scenario, account: str, ccy: str) -> None:
    """The currency the account's margin and limits are in (default JPY)."""
    _account(ctx, account)["currency"] = ccy.upper()


@given(
    "the {limit:Word} limit of {account:Name} is {value:Word}",
    "Given the max_order_qty limit of alice is 1000",
)
def account_limit(ctx: Scenario, account: str, limit: str, value: str) -> None:
    """One account limit: max_order_qty, max_notional, collar_bp, collar_ticks, max_open_orders,
    max_orders_per_second, max_position, credit (buying power), maker_fee_bp, taker_fee_bp."""
    _set(ctx, _account(ctx, account), limit, value, ACCOUNT_LIMITS)


@given(
    "the {limit:Word} limit of {account:Name} on {ref:Ref} is {value:Word}",
    "Given the max_position limit of alice on XTKS:7203 is 500",
)
def instrument_limit(ctx: Scenario, account: str, ref: str, limit: str, value: str) -> None:
    """An account's limit for one instrument: max_order_qty, max_position, collar_bp, collar_ticks."""
    inst = ctx.inst(ref)
    target = _account(ctx, account).setdefault("instruments", {}).setdefault(inst.id, {})
    _set(ctx, target, limit, value, INSTRUMENT_LIMITS)


@given("the limits of {account:Name} are:", "Given the limits of alice are:\n  | limit | value |")
def limits_table(ctx: Scenario, account: str, table: Table) -> None:
    """Several account limits at once (columns: limit, value)."""
    table.require(("limit", "value"), "limits")
    for row in table.dicts():
        _set(ctx, _account(ctx, account), row["limit"], row["value"], ACCOUNT_LIMITS)


@given("the firm {limit:Word} limit is {value:Word}", "Given the firm max_open_orders limit is 2")
def firm_limit(ctx: Scenario, limit: str, value: str) -> None:
    """A limit on the whole firm (across accounts)."""
    allowed = tuple(k for k in ACCOUNT_LIMITS if k not in ("credit", "maker_fee_bp", "taker_fee_bp"))
    _set(ctx, _raw(ctx).setdefault("firm", {}), limit, value, allowed)


@given(
    "the kill switch of {account:Name} trips on {trigger:Word}",
    "Given the kill switch of alice trips on margin_call",
)
def kill_on(ctx: Scenario, account: str, trigger: str) -> None:
    """Engage the account's kill switch automatically on this breach (a limit name or margin_call)."""
    acct = _account(ctx, account)
    acct["kill_on"] = [*acct.get("kill_on", []), trigger]
    _parse(ctx.bag["risk_raw"])


@given(
    "the margin rates of {ref:Ref} are {im:Word}% initial and {mm:Word}% maintenance",
    "Given the margin rates of XTKS:7203 are 20% initial and 10% maintenance",
)
def margin_rates(ctx: Scenario, ref: str, im: str, mm: str) -> None:
    """Margin as a share of the position's value at the mark."""
    inst = ctx.inst(ref)

    def bp(t: str) -> int:
        return int(V.decimal(t, "margin rate") * 100)

    _raw(ctx).setdefault("instruments", {})[inst.id] = {"initial_bp": bp(im), "maintenance_bp": bp(mm)}
    _parse(ctx.bag["risk_raw"])


@given(
    "margin warnings come at {warn:Word}% and calls at {call:Word}%",
    "Given margin warnings come at 80% and calls at 100%",
)
def margin_levels(ctx: Scenario, warn: str, call: str) -> None:
    """The utilisation (maintenance margin / equity) at which MarginWarning and MarginCall come."""
    raw = _raw(ctx)
    raw["warning_bp"] = int(V.decimal(warn, "warning level") * 100)
    raw["call_bp"] = int(V.decimal(call, "call level") * 100)
    _parse(raw)


# -- actions --------------------------------------------------------------------------------------
@step(
    "the operator engages the kill switch of {account:Name}",
    "When the operator engages the kill switch of alice",
)
def engage(ctx: Scenario, account: str) -> None:
    """Block the account's new orders and cancel its open ones."""
    from system.risk import EngageKillSwitch

    ctx.run(EngageKillSwitch(account=account, reason="operator"))


@step(
    "the operator releases the kill switch of {account:Name}",
    "When the operator releases the kill switch of alice",
)
def release(ctx: Scenario, account: str) -> None:
    """Let the account trade again."""
    from system.risk import ReleaseKillSwitch

    ctx.run(ReleaseKillSwitch(account=account, reason="operator"))


@step("the mark price of {ref:Ref} is {price:Price}", "When the mark price of XTKS:7203 is 2000")
def mark(ctx: Scenario, ref: str, price: str) -> None:
    """Set the instrument's mark from outside (a valuation feed); positions and margin revalue."""
    from system.pricing import SetMarkPrice

    inst = ctx.inst(ref)
    _need_pricing(ctx, "a mark price")
    ctx.setup_command(SetMarkPrice(inst.id, V.price(inst, price)))


def _need_pricing(ctx: Scenario, what: str) -> None:
    """Marks and FX rates need pricing, which comes with risk: turn both on if the system has not
    started, else say why the step cannot work (rather than an internal error at a later step)."""
    if "risk_raw" in ctx.bag:
        return
    if ctx.started:
        raise StepInputError(
            f"{what} needs pricing, which must be on before the system starts: move this step above "
            "the first order (or add 'Given risk checks are on' at the top)"
        )
    _raw(ctx)


@step("the FX rate {pair:Word} is {rate:Word}", "Given the FX rate USD/JPY is 157.25")
def fx_rate(ctx: Scenario, pair: str, rate: str) -> None:
    """1 BASE = rate QUOTE. Turns pricing (and risk checks) on when set before the first order; the
    rate converts prices between books of one cross group (an order with the 'cross-currency'
    option) and values positions in the account's currency."""
    from system.pricing import SetFxRate

    base, sep, quote = pair.upper().partition("/")
    if not sep or not base or not quote:
        raise StepInputError(f"currency pair {pair!r} is not BASE/QUOTE (like USD/JPY)")
    d = V.decimal(rate, "FX rate")
    if d <= 0:
        raise StepInputError(f"FX rate {rate!r} must be positive")
    _need_pricing(ctx, "an FX rate")
    _, digits, exp = d.normalize().as_tuple()
    mantissa = int("".join(map(str, digits)))
    ctx.setup_command(SetFxRate(base, quote, mantissa, int(exp)))


# -- read models ----------------------------------------------------------------------------------
def _accounts(ctx: Scenario) -> Any:
    from system.risk import AccountsProjection

    if "risk_raw" not in ctx.bag:
        raise StepInputError("risk is not on in this scenario (add 'Given risk checks are on')")
    return ctx.system().projection(AccountsProjection)


def _money(ctx: Scenario, value: int, ccy: str) -> str:
    from system.risk.money import decimal_money

    units = ctx.risk.currencies if ctx.risk is not None else {}
    return V._plain(decimal_money(value, ccy, units))


def _context(ctx: Scenario, account: str) -> str:
    return describe.recent(ctx.events(), ctx.instruments, ctx.zone(), ctx.name_of, account=account)


@then(
    "the position of {account:Name} in {ref:Ref} is {qty:Word}",
    "Then the position of alice in XTKS:7203 is 300",
)
def position(ctx: Scenario, account: str, ref: str, qty: str) -> None:
    """The net position (negative: short)."""
    inst = ctx.inst(ref)
    got = _accounts(ctx).position_qty(account, inst.id)
    want_d = V.decimal(qty, "position")
    want = int(want_d / Decimal(inst.qty_increment))
    assert got == want, (
        f"{account} holds {V.fmt_qty(inst, got)} {inst.id}, expected {qty}\n{_context(ctx, account)}"
    )


POSITION_COLUMNS = ("instrument", "qty", "avg price", "realised", "unrealised", "fees", "currency")


@then(
    "the positions of {account:Name} are:",
    "Then the positions of alice are:\n  | instrument | qty | avg price |",
)
def positions(ctx: Scenario, account: str, table: Table) -> None:
    """Every position the account has had, by instrument: qty, avg price, realised, unrealised,
    fees (money in the instrument's quote currency)."""
    table.require(POSITION_COLUMNS, "positions")
    rows = []
    for p in _accounts(ctx).positions(account):
        inst = ctx.instruments.get(p.instrument)
        rows.append(
            {
                "instrument": p.instrument,
                "qty": V.fmt_qty(inst, p.qty),
                "avg price": "" if p.avg_price is None else V._plain(Decimal(p.avg_price)),
                "realised": _money(ctx, p.realised, p.currency),
                "unrealised": _money(ctx, p.unrealised, p.currency),
                "fees": _money(ctx, p.fees, p.currency),
                "currency": p.currency,
            }
        )
    problem = diff(f"The positions of {account} differ", list(table.headers), table.dicts(), rows)
    if problem is not None:
        raise AssertionError(problem + "\n" + _context(ctx, account))


@then(
    "the P&L of {account:Name} is:", "Then the P&L of alice is:\n  | currency | realised | unrealised | net |"
)
def pnl(ctx: Scenario, account: str, table: Table) -> None:
    """Realised, unrealised, fees and net P&L per currency."""
    table.require(("currency", "realised", "unrealised", "fees", "net"), "P&L")
    rows = [
        {
            "currency": v.currency,
            "realised": _money(ctx, v.realised, v.currency),
            "unrealised": _money(ctx, v.unrealised, v.currency),
            "fees": _money(ctx, v.fees, v.currency),
            "net": _money(ctx, v.net, v.currency),
        }
        for v in _accounts(ctx).pnl(account)
    ]
    problem = diff(f"The P&L of {account} differs", list(table.headers), table.dicts(), rows)
    if problem is not None:
        raise AssertionError(problem + "\n" + _context(ctx, account))


MARGIN_COLUMNS = ("currency", "cash", "equity", "initial", "maintenance", "available", "utilisation", "level")
_LEVELS = {0: "normal", 1: "warning", 2: "call"}


@then(
    "the margin of {account:Name} is:",
    "Then the margin of alice is:\n  | equity | maintenance | utilisation |",
)
def margin(ctx: Scenario, account: str, table: Table) -> None:
    """The account's margin in its currency: cash, equity, initial, maintenance, available,
    utilisation (percent of equity used by maintenance margin), level (normal, warning, call)."""
    table.require(MARGIN_COLUMNS, "margin")
    m = _accounts(ctx).margin(account)
    if m is None:
        raise AssertionError(f"account {account} has no margin account (it has not traded or been set up)")
    c = m.currency
    row = {
        "currency": c,
        "cash": _money(ctx, m.cash, c),
        "equity": _money(ctx, m.equity, c),
        "initial": _money(ctx, m.initial_margin, c),
        "maintenance": _money(ctx, m.maintenance_margin, c),
        "available": _money(ctx, m.available, c),
        "utilisation": "" if m.utilisation_bp is None else f"{V._plain(Decimal(m.utilisation_bp) / 100)}%",
        "level": _LEVELS.get(m.level, str(m.level)),
    }
    expected = [{k: v.rstrip("%") if k == "utilisation" else v for k, v in r.items()} for r in table.dicts()]
    actual = [{k: v.rstrip("%") if k == "utilisation" else v for k, v in row.items()}]
    problem = diff(f"The margin of {account} differs", list(table.headers), expected, actual)
    if problem is not None:
        raise AssertionError(problem + "\n" + _context(ctx, account))


@then(
    "the margin utilisation of {account:Name} is {pct:Word}",
    "Then the margin utilisation of alice is 45%",
)
def utilisation(ctx: Scenario, account: str, pct: str) -> None:
    """Maintenance margin as a percent of equity ('45%', '45.25%'; 'none' when there is no equity
    to divide by), with the margin level it puts the account in."""
    m = _accounts(ctx).margin(account)
    if m is None:
        raise AssertionError(f"account {account} has no margin account (it has not traded or been set up)")
    text = pct.strip().rstrip("%").strip()
    want = None if text.lower() == "none" else V.decimal(text, "utilisation")
    got = None if m.utilisation_bp is None else Decimal(m.utilisation_bp) / 100
    shown = "none" if got is None else f"{V._plain(got)}%"
    assert got == want, (
        f"the margin utilisation of {account} is {shown} ({_LEVELS.get(m.level, m.level)}: maintenance "
        f"{_money(ctx, m.maintenance_margin, m.currency)} on equity {_money(ctx, m.equity, m.currency)} "
        f"{m.currency}), expected {pct}\n{_context(ctx, account)}"
    )


def _account_events(ctx: Scenario, account: str, since: bool) -> list[Any]:
    evs = ctx.action_events() if since else ctx.events()
    return [e for e in evs if e.type in ACCOUNT_EVENTS and getattr(e.record, "account", None) == account]


@then("a {kind:Word} is raised for {account:Name}", "Then a MarginWarning is raised for alice")
def raised(ctx: Scenario, account: str, kind: str) -> None:
    """Since the latest When steps began, the log has that account event (MarginWarning,
    MarginCall, MarginRestored, LimitBreached, KillSwitchEngaged, KillSwitchReleased)."""
    if kind not in ACCOUNT_EVENTS:
        raise StepInputError(f"account event {kind!r} is unknown (one of: {', '.join(ACCOUNT_EVENTS)})")
    got = [e for e in _account_events(ctx, account, True) if e.type == kind]
    assert got, f"no {kind} for {account}\n{_context(ctx, account)}"


@then("no {kind:Word} is raised for {account:Name}", "Then no MarginCall is raised for alice")
def not_raised(ctx: Scenario, account: str, kind: str) -> None:
    """Since the latest When steps began, no such account event."""
    if kind not in ACCOUNT_EVENTS:
        raise StepInputError(f"account event {kind!r} is unknown (one of: {', '.join(ACCOUNT_EVENTS)})")
    got = [e for e in _account_events(ctx, account, True) if e.type == kind]
    assert not got, f"{len(got)} {kind} for {account}\n{_context(ctx, account)}"


@then(
    "the account events of {account:Name} are:", "Then the account events of alice are:\n  | event | limit |"
)
def account_events(ctx: Scenario, account: str, table: Table) -> None:
    """Exactly these account status events since the scenario began, in order (column 'event',
    plus any field: limit, reason, manual, utilisation_bp...)."""
    if "event" not in table.headers:
        raise StepInputError("the account events table needs an 'event' column")
    rows = []
    for e in _account_events(ctx, account, False):
        p = describe.payload(e, ctx.instruments, ctx.name_of)
        p["event"] = e.type
        rows.append(p)
    problem = diff(f"The account events of {account} differ", list(table.headers), table.dicts(), rows)
    if problem is not None:
        raise AssertionError(problem + "\n" + _context(ctx, account))


@then("the kill switch of {account:Name} is {state:Word}", "Then the kill switch of alice is engaged")
def kill_state(ctx: Scenario, account: str, state: str) -> None:
    """engaged (new orders blocked) or released."""
    if state not in ("engaged", "released"):
        raise StepInputError(f"kill switch state {state!r} is not engaged or released")
    got = _accounts(ctx).kill_switch(account)
    assert got == (state == "engaged"), f"the kill switch of {account} is {'engaged' if got else 'released'}"


@then(
    "the {ccy:Word} balance of {account:Name} is {amount:Qty}", "Then the JPY balance of alice is 10,000,000"
)
def balance(ctx: Scenario, account: str, ccy: str, amount: str) -> None:
    """Cash in one currency: what the account holds, plus realised P&L, less fees. Opening a
    position moves no cash (it is margined, not paid for): with 10,000,000 JPY held and no fees
    configured, it is still 10,000,000 after buying 300 at 2,500."""
    bal = _accounts(ctx).balances(account).get(ccy.upper(), 0)
    got = _money(ctx, bal, ccy.upper())
    assert V.decimal(got) == V.decimal(amount, "amount"), (
        f"the {ccy} balance of {account} is {got}, expected {amount}"
    )
