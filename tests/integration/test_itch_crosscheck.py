"""An independent ITCH 5.0 decoder (the ``itch-book`` package, C++ core) reads our day file: its
books and trades equal the engine's at every trade of a seeded simulated morning."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from typing import Any

import pytest

from sim.markets import simulated_day
from system.clock import NS_PER_SECOND
from system.engine.events import AuctionUncrossed, TradeExecuted
from system.engine.marketdata import MarketData
from system.gateways.itch import ItchEncoder
from system.gateways.itch.dayfile import write_messages
from system.gateways.itch.verify import engine_sides, record_marks

itch_book = pytest.importorskip("itch_book")
DEPTH = 5


@pytest.fixture(scope="module")
def day():  # type: ignore[no-untyped-def]
    d = simulated_day("XTKS", date(2027, 1, 4), instruments=["7203", "6758"], seed=11)
    d.end_ns = d.start_ns + 66 * 60 * NS_PER_SECOND  # pre-open, the opening auction, 6 minutes after
    d.run()
    d.world.runtime.flush()
    yield d
    d.close()


def _tables(path: str, on: date) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, Any]]:
    """itch-book's depth and trades tables of a day file, through its public ``Feed`` API."""
    depth: dict[str, list[Any]] = {}
    trades: dict[str, list[Any]] = {}
    with itch_book.Feed(path, date=on, price_type="fixed") as feed:
        for batch in feed.batches(tables=("depth", "trades"), depth=DEPTH):
            for name, table in (("depth", depth), ("trades", trades)):
                for col, values in getattr(batch, name).items():
                    table.setdefault(col, []).extend(values.tolist())
        stats = dict(feed.stats or {})
    return depth, trades, stats


def test_itch_book_sees_the_engines_books_and_trades(day, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """At every trade the independent decoder's top 5 levels (price, shares, orders) equal the
    engine's, each continuous trade prints its price and size under its match number, and each
    uncross is one cross trade at the auction's price and quantity."""
    store = day.world.store
    enc = ItchEncoder(day.session.tz, day.profile.ids)
    marks = record_marks(store.read(1), enc)
    enc.finish()
    path = tmp_path / "day.itch"
    with path.open("wb") as out:
        write_messages(out, enc.messages)
    depth, trades, stats = _tables(str(path), day.trade_date)
    assert stats["missing_ref"] == 0 and stats["rejected"] == 0 and stats["malformed"] == 0
    assert stats["messages"] == len(enc.messages)

    # depth rows by locate, in stream order: (message seq, row index)
    rows: dict[int, tuple[list[int], list[int]]] = {}
    for i, (seq, loc) in enumerate(zip(depth["seq"], depth["locate"], strict=True)):
        r = rows.setdefault(loc, ([], []))
        r[0].append(seq)
        r[1].append(i)

    def decoded(loc: int, upto: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        seqs, idx = rows.get(loc, ([], []))
        k = bisect_right(seqs, upto)
        if k == 0:
            return [], []
        i = idx[k - 1]
        out = []
        for side in ("bid", "ask"):
            lv = []
            for n in range(DEPTH):
                px = int(depth[f"{side}_px_{n:02d}"][i])
                if px:
                    lv.append((px, int(depth[f"{side}_sz_{n:02d}"][i]), int(depth[f"{side}_ct_{n:02d}"][i])))
            out.append(lv)
        return out[0], out[1]

    by_seq = {mk.seq: mk for mk in marks}
    md = MarketData()
    checked = 0
    engine_prints: dict[int, tuple[int, int]] = {}
    crosses: list[tuple[int, int]] = []
    for ev in store.read(1):
        md.handle(ev)
        rec = ev.record
        if type(rec) is AuctionUncrossed and rec.qty:
            scale = enc.listings[rec.instrument].price_scale
            crosses.append((rec.price * scale, rec.qty))
        if type(rec) is not TradeExecuted:
            continue
        mk = by_seq[ev.seq]
        for inst, lst in enc.listings.items():
            bids, asks = engine_sides(md, inst, lst.price_scale, mk.pending)
            want = tuple(
                [(p, sum(q for _, q in os), len(os)) for p, os in side[:DEPTH]] for side in (bids, asks)
            )
            assert decoded(lst.locate, mk.sent) == want, f"trade {rec.trade_id} {inst}"
        if rec.aggressor is not None:
            engine_prints[rec.trade_id] = (rec.price * enc.listings[rec.instrument].price_scale, rec.qty)
        checked += 1
    assert checked > 100

    printed: dict[int, tuple[int, int]] = {}
    got_crosses = []
    for kind, px, size, match in zip(
        trades["kind"], trades["price"], trades["size"], trades["match_number"], strict=True
    ):
        if kind == b"Q":
            got_crosses.append((px, size))
            continue
        prev = printed.get(match, (px, 0))
        assert prev[0] == px
        printed[match] = (px, prev[1] + size)
    assert printed == engine_prints
    assert got_crosses == crosses and crosses
