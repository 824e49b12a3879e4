"""For auditors (and qa-admin): the log head, chain verification and the state as of any instant,
rebuilt by the replayer (``sim.replay.as_of``) with the basis it was computed from."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Security

from system.engine import MatchingEngine
from system.gateways.rest.convert import iso, ns_of, price_text, qty_text
from system.gateways.rest.gateway import RestGateway
from system.gateways.rest.keys import ApiKey
from system.gateways.rest.problems import PROBLEMS, Problem
from system.gateways.rest.readmodel import OrderRow
from system.gateways.rest.render import order_out
from system.gateways.rest.routes.deps import gateway
from system.gateways.rest.schemas import AsOfOut, HeadOut, L2Out, Level, VerifyOut
from system.gateways.rest.security import AUDIT, allow

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=PROBLEMS)
Gw = Annotated[RestGateway, Depends(gateway)]
Auditor = Annotated[ApiKey, Security(allow(*AUDIT))]


@router.get("/head", response_model=HeadOut, summary="The log's last seq and hash")
async def head(gw: Gw, who: Auditor) -> HeadOut:
    h = gw.sequencer.store.head()
    return HeadOut(seq=h.seq, hash=h.hash.hex())


@router.get("/verify", response_model=VerifyOut, summary="Check the whole hash chain")
async def verify(gw: Gw, who: Auditor) -> VerifyOut:
    from system.eventlog.verify import verify as verify_log

    v = verify_log(gw.sequencer.store)
    return VerifyOut(ok=v.ok, entries=v.count, head_hash=v.head_hash.hex(), problem=v.problem, seq=v.bad_seq)


@router.get("/as-of", response_model=AsOfOut, summary="Books and open orders as of an instant (the replayer)")
async def as_of(
    gw: Gw,
    who: Auditor,
    at: Annotated[datetime, Query(description="the valid time to rebuild")],
    known_at: Annotated[datetime | None, Query(description="ignore corrections recorded later")] = None,
) -> AsOfOut:
    from sim.replay import ReplayError
    from sim.replay import as_of as replay_as_of

    t = ns_of(at)
    try:
        state = replay_as_of(
            gw.sequencer.store, t, None if known_at is None else ns_of(known_at), only=("engine",)
        )
    except ReplayError as e:
        raise Problem(422, str(e), field="at") from None
    eng: Any = state.component(MatchingEngine)
    b = state.basis
    books: list[L2Out] = []
    opened: list[Any] = []
    for iid in sorted(eng.instrument_ids()):
        inst = eng.books[iid].inst
        view = eng.book(iid)
        books.append(
            L2Out(
                instrument=iid,
                seq=b.seq,
                phase=view.phase,
                bids=[
                    Level(price=price_text(inst, lv.price) or "0", qty=qty_text(inst, lv.qty), count=lv.count)
                    for lv in view.bids
                ],
                asks=[
                    Level(price=price_text(inst, lv.price) or "0", qty=qty_text(inst, lv.qty), count=lv.count)
                    for lv in view.asks
                ],
            )
        )
        for o in eng.open_orders(None, iid):
            row = OrderRow(
                o.order_id, o.account, o.instrument, o.client_order_id, str(o.side), str(o.order_type),
                o.price, o.stop_price, o.qty, str(o.tif), filled=o.qty - o.leaves, leaves=o.leaves,
                status="NEW" if o.leaves == o.qty else "PARTIALLY_FILLED", last_seq=b.seq,
            )  # fmt: skip
            opened.append(order_out(row, inst))
    return AsOfOut(
        as_of=iso(t),
        as_of_ns=t,
        seq=b.seq,
        head_seq=b.head_seq,
        head_hash=b.head_hash,
        basis=b.describe(),
        books=books,
        open_orders=opened,
    )
