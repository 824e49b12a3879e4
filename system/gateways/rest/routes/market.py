"""Market read models: instruments, L1/L2/L3 books, trades, OHLC bars, venue phases and calendars.

Books come from the ``MarketData`` projection, trades from the gateway's read model and bars from
``BarProjection``: memory reads between the sequencer's batches, never a fold of the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Security

from system.gateways.rest.convert import iso, ns_of, price_text, qty_text
from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey, Role
from system.gateways.rest.problems import PROBLEMS, Problem
from system.gateways.rest.render import l1_out, l2_out, trade_out
from system.gateways.rest.routes.deps import gateway
from system.gateways.rest.schemas import (
    BarOut,
    CalendarEntry,
    CalendarOut,
    InstrumentOut,
    L1Out,
    L2Out,
    L3Order,
    L3Out,
    PhaseOut,
    TradeOut,
)
from system.gateways.rest.security import EVERYONE, allow, check_account

router = APIRouter(prefix="/v1", tags=["market"], responses=PROBLEMS)
Gw = Annotated[RestGateway, Depends(gateway)]
Anyone = Annotated[ApiKey, Security(allow(*EVERYONE))]
Intervals = ("1s", "1m", "5m", "1h", "1d")


def _visible(who: ApiKey) -> frozenset[str] | None:
    return frozenset(who.accounts) if who.role is Role.TRADER else None


@router.get("/instruments", response_model=list[InstrumentOut], summary="Listed instruments")
async def instruments(gw: Gw, who: Anyone) -> list[InstrumentOut]:
    return [
        InstrumentOut(
            id=i.id,
            venue=i.venue,
            currency=i.quote_currency,
            price_increment=i.price_increment,
            qty_increment=i.qty_increment,
            lot_size=i.lot_size,
        )
        for i in gw.instruments()
    ]


@router.get("/books/{instrument:path}/l1", response_model=L1Out, summary="Best bid and offer")
async def l1(instrument: str, gw: Gw, who: Anyone) -> L1Out:
    return l1_out(gw.instrument(instrument), gw.marketdata)


@router.get("/books/{instrument:path}/l2", response_model=L2Out, summary="Depth by price level")
async def l2(
    instrument: str, gw: Gw, who: Anyone, depth: Annotated[int | None, Query(ge=1, le=1000)] = None
) -> L2Out:
    inst = gw.instrument(instrument)
    return l2_out(inst, gw.marketdata.depth(inst.id, depth))


@router.get("/books/{instrument:path}/l3", response_model=L3Out, summary="Every displayed order, by priority")
async def l3(instrument: str, gw: Gw, who: Anyone) -> L3Out:
    inst = gw.instrument(instrument)
    md = gw.marketdata
    b = md.book(inst.id)
    vis = _visible(who)

    def side(levels: tuple[object, ...]) -> list[L3Order]:
        return [
            L3Order(
                order_id=o.order_id,
                price=price_text(inst, lv.price) or "0",  # type: ignore[attr-defined]
                visible=qty_text(inst, o.visible),
                account=o.account if vis is None or o.account in vis else None,
            )
            for lv in levels
            for o in lv.orders  # type: ignore[attr-defined]
        ]

    return L3Out(instrument=inst.id, seq=md.position, phase=b.phase, bids=side(b.bids), asks=side(b.asks))


@router.get("/trades", response_model=list[TradeOut], summary="Trades by instrument, account or time range")
async def trades(
    gw: Gw,
    who: Anyone,
    instrument: Annotated[str | None, Query(max_length=64)] = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[datetime | None, Query(description="valid time, inclusive")] = None,
    end: Annotated[datetime | None, Query(description="valid time, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[TradeOut]:
    if account is not None:
        check_account(who, account)
    inst_id = None if instrument is None else gw.instrument(instrument).id
    rows = gw.model.find_trades(
        instrument=inst_id,
        account=account,
        start=None if start is None else ns_of(start),
        end=None if end is None else ns_of(end),
        limit=limit,
    )
    vis = _visible(who)
    return [trade_out(t, gw.instrument(t.instrument), vis) for t in rows]


@router.get("/bars/{instrument:path}", response_model=list[BarOut], summary="OHLC bars")
async def bars(
    instrument: str,
    gw: Gw,
    who: Anyone,
    interval: Annotated[str, Query(pattern="^(1s|1m|5m|1h|1d)$")] = "1m",
) -> list[BarOut]:
    inst = gw.instrument(instrument)
    if interval not in gw.bars.intervals:
        raise Problem(404, f"no {interval} bars on this server (it keeps {', '.join(gw.bars.intervals)})")
    return [
        BarOut(
            instrument=b.instrument,
            interval=b.interval,
            start=iso(b.start),
            start_ns=b.start,
            trade_date=b.trade_date,
            open=price_text(inst, b.open) or "0",
            high=price_text(inst, b.high) or "0",
            low=price_text(inst, b.low) or "0",
            close=price_text(inst, b.close) or "0",
            volume=qty_text(inst, b.volume),
            trades=b.trades,
        )
        for b in gw.bars.bars(inst.id, interval)
    ]


@router.get("/venues", response_model=list[PhaseOut], summary="Each venue's and instrument's phase")
async def venues(gw: Gw, who: Anyone) -> list[PhaseOut]:
    state = gw.marketdata.state
    out: list[PhaseOut] = []
    for i in gw.instruments():
        out.append(PhaseOut(venue=i.venue, instrument=i.id, phase=state.books[i.id].phase))
    return out


@router.get(
    "/venues/{venue}/calendar", response_model=CalendarOut, summary="A venue's phase and coming transitions"
)
async def calendar(
    venue: str, gw: Gw, who: Anyone, days: Annotated[int, Query(ge=1, le=31)] = 7
) -> CalendarOut:
    from sim.clock import venue_calendar

    if venue not in {i.venue for i in gw.instruments()}:
        raise Problem(404, f"no venue {venue!r} on this server", field="venue", value=venue)
    now = gw.sequencer.now()
    try:
        cal = venue_calendar(venue)
        found = cal.transitions(now, now + days * 86_400 * 10**9)
    except Exception as e:  # a venue without a calendar (a profile with none): say so
        raise Problem(404, f"venue {venue!r} has no calendar: {e}") from None
    phases = {gw.marketdata.state.books[i.id].phase for i in gw.instruments() if i.venue == venue}
    return CalendarOut(
        venue=venue,
        phase=phases.pop() if len(phases) == 1 else None,
        transitions=[CalendarEntry(at=iso(tr.at), at_ns=tr.at, phase=tr.phase) for tr, _ in found],
    )
