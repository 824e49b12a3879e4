"""Venue profiles: a venue's instruments, calendar and default simulated flow, as data (TOML).

    from sim.markets import load_profile
    xtks = load_profile("XTKS")
    xtks.instruments                 # tuple[system.engine.Instrument, ...], ready for SystemConfig
    xtks.instrument("7203")          # by symbol or id ("XTKS:7203")
    xtks.calendar                    # "XTKS": the sim/clock venue code
    xtks.flow                        # FlowConfig: the default simulated flow

Every problem in a file is a ``ProfileError`` naming the file, the key and the bad value. The file
format is documented in docs/simulators.md; sim/markets/profiles/ holds the shipped profiles.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from sim.markets.flow import FlowConfig, FlowError, flow_from_mapping
from system.engine import (
    Instrument,
    PriceBand,
    PriceLimits,
    price_to_int,
    tse_price_limits,
    tse_tick_table,
)
from system.engine.orders import BandAction

# An activity (a multiplier of every arrival rate) outside these leaves no time between orders
# (the day would never end) or waits longer than the clock's 64-bit nanoseconds can hold.
MIN_ACTIVITY = 1e-6
MAX_ACTIVITY = 1000.0

PROFILES_DIR = Path(__file__).parent / "profiles"
NS_PER_SECOND = 1_000_000_000


class ProfileError(ValueError):
    """A profile that cannot be used, or a name it does not know. ``file``/``key``/``value`` say
    where and what."""

    def __init__(self, file: str, key: str, value: object, why: str) -> None:
        self.file, self.key, self.value, self.why = file, key, value, why
        where = f"{file}: {key} = {value!r}: " if key else f"{file}: "
        super().__init__(f"{where}{why}")


@dataclass(frozen=True, slots=True)
class InstrumentProfile:
    """One instrument of a profile: its reference data and how the simulator moves it."""

    instrument: Instrument
    name: str
    idio_daily_vol: float  # the instrument's own noise, daily vol of log price
    factors: tuple[tuple[str, float], ...]  # (factor, loading), sorted by factor
    activity: float  # multiplies every flow rate for this instrument
    flow: FlowConfig  # the profile's flow with this instrument's overrides

    @property
    def id(self) -> str:
        return self.instrument.id


@dataclass(frozen=True, slots=True)
class VenueProfile:
    name: str
    description: str
    calendar: str  # a sim.clock venue code
    specs: tuple[InstrumentProfile, ...]
    factors: tuple[tuple[str, float], ...]  # (factor, daily vol), sorted by name
    flow: FlowConfig
    source: str = ""

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """Every instrument, in file order: what ``SystemConfig(instruments=...)`` takes."""
        return tuple(s.instrument for s in self.specs)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.instrument.id for s in self.specs)

    @property
    def venue(self) -> str:
        """The venue code the instruments trade on (the calendar's code)."""
        return self.calendar

    def spec(self, ref: str) -> InstrumentProfile:
        """The instrument called ``ref``: its id ("XTKS:7203") or symbol ("7203"), any case."""
        key = ref.strip().upper()
        for s in self.specs:
            inst = s.instrument
            if key in (inst.id.upper(), inst.symbol.upper()):
                return s
        raise ProfileError(
            self.name, "instrument", ref,
            f"not in profile {self.name} (known: {', '.join(self.ids)})",
        )  # fmt: skip

    def instrument(self, ref: str) -> Instrument:
        return self.spec(ref).instrument

    def select(self, refs: Iterable[str] | None) -> VenueProfile:
        """This profile restricted to ``refs`` (in the order given); None or empty keeps all."""
        if not refs:
            return self
        chosen: list[InstrumentProfile] = []
        for r in refs:
            s = self.spec(r)
            if s not in chosen:
                chosen.append(s)
        return replace(self, specs=tuple(chosen))

    def with_flow(self, **changes: Any) -> VenueProfile:
        """This profile with flow parameters changed for the venue and every instrument."""
        flow = self.flow.replace(**changes)
        specs = tuple(replace(s, flow=s.flow.replace(**changes)) for s in self.specs)
        return replace(self, flow=flow, specs=specs)


def shipped_profiles() -> list[str]:
    """Names of the profiles in sim/markets/profiles/, sorted."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def load_profile(name: str | Path) -> VenueProfile:
    """A shipped profile by name (XTKS, CME, FX-JP, CRYPTO; any case) or a profile file by path."""
    return _load(str(name))


@cache
def _load(name: str) -> VenueProfile:
    shipped = PROFILES_DIR / f"{name.upper()}.toml"
    if shipped.is_file():
        return read_profile(shipped)
    if name.endswith(".toml"):
        return read_profile(Path(name))
    raise ProfileError(
        "venue profiles", "venue", name,
        f"unknown venue profile (shipped: {', '.join(shipped_profiles())}; or a path to a .toml file)",
    )  # fmt: skip


def read_profile(path: Path) -> VenueProfile:
    file = str(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise ProfileError(file, "", None, "no such profile file") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(file, "", None, f"not valid TOML: {e}") from None
    return _Reader(file).profile(doc)


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, value: object, why: str) -> ProfileError:
        return ProfileError(self.file, key, value, why)

    def table(
        self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> dict[str, Any]:
        v = parent.get(key)
        if v is None:
            if required:
                raise self.fail(path, None, "missing table")
            return {}
        if not isinstance(v, dict):
            raise self.fail(path, v, "expected a table")
        return v

    def text(self, t: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
        v = t.get(key, default)
        if v is None:
            raise self.fail(path, None, "missing value")
        if not isinstance(v, str) or not v:
            raise self.fail(path, v, "expected a non-empty string")
        return v

    def number(self, t: Mapping[str, Any], key: str, path: str, default: float | None = None) -> float:
        v = t.get(key, default)
        if v is None:
            raise self.fail(path, None, "missing value")
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise self.fail(path, v, "expected a number")
        try:
            x = float(v)
        except ValueError:
            raise self.fail(path, v, "expected a number") from None
        if x != x or x < 0 or x == float("inf"):
            raise self.fail(path, v, "expected a finite number >= 0")
        return x

    def integer(self, t: Mapping[str, Any], key: str, path: str, default: int) -> int:
        v = t.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise self.fail(path, v, "expected an integer >= 0")
        return v

    def decimal(self, value: object, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(path, value, 'expected a decimal string such as "2850.5"')
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(path, value, "not a decimal number") from None
        if not d.is_finite() or d <= 0:
            raise self.fail(path, value, "must be a positive number")
        return d

    # -- the profile -----------------------------------------------------------------------------
    def profile(self, doc: dict[str, Any]) -> VenueProfile:
        known = {"profile", "instrument_defaults", "factors", "instrument", "flow"}
        for k in sorted(doc):
            if k not in known:
                raise self.fail(k, doc[k], f"unknown top-level key (known: {', '.join(sorted(known))})")
        head = self.table(doc, "profile", "profile")
        name = self.text(head, "name", "profile.name")
        calendar = self.text(head, "calendar", "profile.calendar")
        self._check_calendar(calendar)
        description = str(head.get("description", ""))
        factors: list[tuple[str, float]] = []
        for fname, ft in sorted(self.table(doc, "factors", "factors", required=False).items()):
            if not isinstance(ft, dict):
                raise self.fail(f"factors.{fname}", ft, "expected a table with daily_vol")
            factors.append((fname, self.number(ft, "daily_vol", f"factors.{fname}.daily_vol")))
        try:
            flow = flow_from_mapping(self.table(doc, "flow", "flow", required=False))
        except FlowError as e:
            raise ProfileError(self.file, "", None, str(e)) from None
        defaults = self.table(doc, "instrument_defaults", "instrument_defaults", required=False)
        raw = doc.get("instrument")
        if not isinstance(raw, list) or not raw:
            raise self.fail("instrument", raw, "expected at least one [[instrument]] table")
        specs: list[InstrumentProfile] = []
        seen: set[str] = set()
        factor_names = {f for f, _ in factors}
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise self.fail(f"instrument[{i}]", item, "expected a table")
            spec = self.instrument(item, defaults, calendar, f"instrument[{i}]", factor_names, flow)
            if spec.id in seen:
                raise self.fail(f"instrument[{i}].id", spec.id, "listed twice")
            seen.add(spec.id)
            specs.append(spec)
        return VenueProfile(name, description, calendar, tuple(specs), tuple(factors), flow, self.file)

    def _check_calendar(self, code: str) -> None:
        from sim.clock import UnknownVenue, venue_calendar

        try:
            venue_calendar(code)
        except UnknownVenue as e:
            raise self.fail("profile.calendar", code, str(e)) from None

    _INSTRUMENT_KEYS = frozenset({
        "symbol", "id", "name", "venue", "base_currency", "quote_currency", "price_increment",
        "qty_increment", "tick_table", "lot_size", "min_qty", "max_qty", "reference_price",
        "price_limits", "price_band", "multiplier", "cross_group", "idio_daily_vol", "factors",
        "activity", "flow",
    })  # fmt: skip

    def instrument(
        self,
        item: dict[str, Any],
        defaults: dict[str, Any],
        calendar: str,
        path: str,
        factor_names: set[str],
        flow: FlowConfig,
    ) -> InstrumentProfile:
        for k in sorted(defaults):
            if k not in self._INSTRUMENT_KEYS:
                raise self.fail(f"instrument_defaults.{k}", defaults[k], "unknown instrument key")
        for k in sorted(item):
            if k not in self._INSTRUMENT_KEYS:
                raise self.fail(f"{path}.{k}", item[k], "unknown instrument key")
        t = {**defaults, **item}

        def where(k: str) -> str:
            return f"{path}.{k}" if k in item else f"instrument_defaults.{k}"

        symbol = self.text(t, "symbol", where("symbol"))
        venue = self.text(t, "venue", where("venue"), calendar)
        iid = self.text(t, "id", where("id"), f"{venue}:{symbol}")
        inc = str(self.decimal(t.get("price_increment", "1"), where("price_increment")))
        qinc = str(self.decimal(t.get("qty_increment", "1"), where("qty_increment")))
        mult = str(self.decimal(t.get("multiplier", "1"), where("multiplier")))
        ticks = self.tick_table(t.get("tick_table", [["0", inc]]), inc, where("tick_table"))
        limits = self.price_limits(t.get("price_limits"), inc, where("price_limits"))
        band = self.price_band(t.get("price_band"), where("price_band"))
        lot = self.integer(t, "lot_size", where("lot_size"), 1)
        if lot < 1:
            raise self.fail(where("lot_size"), lot, "must be at least 1")
        base = Instrument(
            id=iid, venue=venue, symbol=symbol,
            base_currency=self.text(t, "base_currency", where("base_currency"), symbol),
            quote_currency=self.text(t, "quote_currency", where("quote_currency")),
            price_increment=inc, qty_increment=qinc, tick_table=ticks, lot_size=lot,
            min_qty=self.integer(t, "min_qty", where("min_qty"), lot) or 1,
            max_qty=self.integer(t, "max_qty", where("max_qty"), 0),
            price_limits=limits, price_band=band, multiplier=mult,
            cross_group=str(t.get("cross_group", "")),
        )  # fmt: skip
        ref_raw = t.get("reference_price")
        if ref_raw is None:
            raise self.fail(where("reference_price"), None, "missing: the simulator starts fair value there")
        self.decimal(ref_raw, where("reference_price"))
        try:
            ref = price_to_int(base, str(ref_raw))
        except ValueError as e:
            raise self.fail(where("reference_price"), ref_raw, str(e)) from None
        inst = msgspec.structs.replace(base, reference_price=ref)
        problem = inst.problem()
        if problem is not None:
            raise self.fail(path, iid, problem)
        loads_raw = t.get("factors", {})
        if not isinstance(loads_raw, dict):
            raise self.fail(where("factors"), loads_raw, "expected a table of factor = loading")
        loads: list[tuple[str, float]] = []
        for fname in sorted(loads_raw):
            if fname not in factor_names:
                raise self.fail(
                    f"{where('factors')}.{fname}", loads_raw[fname],
                    f"unknown factor (declared: {', '.join(sorted(factor_names)) or 'none'})",
                )  # fmt: skip
            v = loads_raw[fname]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise self.fail(f"{where('factors')}.{fname}", v, "expected a number (the loading)")
            loads.append((fname, float(v)))
        iflow = flow
        if "flow" in t:
            ft = t["flow"]
            if not isinstance(ft, dict):
                raise self.fail(where("flow"), ft, "expected a table of flow parameters")
            try:
                iflow = flow_from_mapping(ft, base=flow, where=where("flow"))
            except FlowError as e:
                raise ProfileError(self.file, "", None, str(e)) from None
        return InstrumentProfile(
            inst,
            str(t.get("name", symbol)),
            self.number(t, "idio_daily_vol", where("idio_daily_vol"), 0.01),
            tuple(loads),
            self.activity(t, where("activity")),
            iflow,
        )

    def activity(self, t: Mapping[str, Any], path: str) -> float:
        x = self.number(t, "activity", path, 1.0)
        if not (x == 0 or MIN_ACTIVITY <= x <= MAX_ACTIVITY):
            why = f"expected 0 or a number from {MIN_ACTIVITY:g} to {MAX_ACTIVITY:g}"
            raise self.fail(path, t.get("activity"), why)
        return x

    def tick_table(self, v: object, inc: str, path: str) -> tuple[tuple[int, int], ...]:
        if v == "tse":
            return tse_tick_table(inc)
        if v == "tse-topix100":
            try:
                return tse_tick_table(inc, topix100=True)
            except ValueError as e:
                raise self.fail(path, v, f'{e} (set price_increment to "0.1")') from None
        if not isinstance(v, list) or not v:
            raise self.fail(path, v, 'expected "tse", "tse-topix100" or [[from_price, tick], ...]')
        step = Decimal(inc)
        rows: list[tuple[int, int]] = []
        for i, row in enumerate(v):
            if not isinstance(row, list) or len(row) != 2:
                raise self.fail(f"{path}[{i}]", row, "expected [from_price, tick] as decimal strings")
            frm = Decimal(str(row[0])) if str(row[0]) == "0" else self.decimal(row[0], f"{path}[{i}][0]")
            tick = self.decimal(row[1], f"{path}[{i}][1]")
            fu, tu = frm / step, tick / step
            if fu != fu.to_integral_value() or tu != tu.to_integral_value():
                raise self.fail(f"{path}[{i}]", row, f"not a multiple of the price increment {inc}")
            rows.append((int(fu), int(tu)))
        return tuple(rows)

    def price_limits(self, v: object, inc: str, path: str) -> PriceLimits | None:
        if v is None:
            return None
        if v == "tse":
            return tse_price_limits(inc)
        if isinstance(v, dict) and set(v) == {"percent"}:
            pct = self.decimal(v["percent"], f"{path}.percent")
            bp = pct * 100
            if bp != bp.to_integral_value():
                raise self.fail(f"{path}.percent", v["percent"], "at most two decimals")
            return PriceLimits(percent_bp=int(bp))
        raise self.fail(path, v, 'expected "tse" or { percent = "7" }')

    def price_band(self, v: object, path: str) -> PriceBand | None:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self.fail(path, v, 'expected { percent = "5", window_s = 60, action = "REJECT" }')
        pct = self.decimal(v.get("percent"), f"{path}.percent")
        window = self.number(v, "window_s", f"{path}.window_s", 60)
        halt = self.number(v, "halt_s", f"{path}.halt_s", 0)
        action = v.get("action", "REJECT")
        if action not in BandAction.__members__:
            raise self.fail(f"{path}.action", action, f"expected one of {', '.join(BandAction.__members__)}")
        return PriceBand(
            int(pct * 100), int(window * NS_PER_SECOND), BandAction(action), int(halt * NS_PER_SECOND)
        )
