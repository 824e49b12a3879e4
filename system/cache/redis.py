"""Redis read models: reference data (instruments; venue profiles and calendars when given a
``reference``), top of book and positions, shared with readers in other processes, and rebuilt
from the log after a flush.

Versioned keys. Each batch the writer handles becomes version ``seq`` (its last entry): every
value it changed is written once, immutable, under ``<ns>:v:<seq>:<model>:<key>``, and in the
same MULTI/EXEC the index hash ``<ns>:index`` (logical key -> version) and ``<ns>:position``
move to the new version. A reader takes the index (one command, so one consistent version of
everything) and then fetches the values it names, which never change: it never sees half an
update. Replaced values expire after ``keep_s`` seconds, long after any reader has used them.

The writer is a ``Subscriber`` (system/server/subscription.py) whose position is the one
stored in Redis: after a FLUSHALL (or a lost Redis) it reads 0, the writer drops its fold and
the subscription replays the log from seq 1 into it. Redis holds nothing the log does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import redis

from system.engine.marketdata import MarketData
from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventLogError

_json = msgspec.json.Encoder()


Reference = Callable[[str, int], dict[str, Any]]
"""``reference(venue, t)``: logical key -> value for a venue first listed at ``t`` (its profile as
``venue:<V>``, its calendar as ``calendar:<V>``). The composition root supplies it: the calendars
and profiles live in sim/, which system/ does not import."""


def _key(ns: str, version: int, logical: str) -> str:
    return f"{ns}:v:{version}:{logical}"


class RedisReadModels:
    """Writes the read models (a ``Subscriber``): ``instrument:<id>``, ``bbo:<instrument>``,
    ``position:<account>:<instrument>`` (JSON values)."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "chronex",
        name: str = "redis-cache",
        keep_s: int = 300,
        reference: Reference | None = None,
    ) -> None:
        self.name = name
        self.reference = reference
        self.ns = namespace
        self.keep_s = keep_s
        self.r = redis.Redis.from_url(url)
        self._url = url
        self._pos = 0
        self._reset()

    def check(self) -> None:
        """That Redis answers (PING): a wrong URL fails at start-up, not at the first batch."""
        try:
            self.r.ping()
        except redis.RedisError as e:
            raise EventLogError(f"Redis at {self._url} does not answer ({e})") from None

    def _reset(self) -> None:
        self.market = MarketData(max_tape=0)
        self.positions: dict[tuple[str, str], list[int]] = {}
        self._venues: set[str] = set()

    def position(self) -> int:
        raw = self.r.get(f"{self.ns}:position")
        stored = int(raw) if raw is not None else 0
        if stored != self._pos:
            # Redis was flushed (or another writer moved it): rebuild everything from the log.
            self._reset()
            self._pos = 0
            if stored:
                self.r.delete(f"{self.ns}:position", f"{self.ns}:index")
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        if not batch:
            return
        changed: dict[str, Any] = {}
        books: set[str] = set()
        for ev in batch:
            self.market.handle(ev)
            r: Any = ev.record
            t = ev.type
            if t == "InstrumentListed":
                changed[f"instrument:{r.instrument.id}"] = r.instrument
                books.add(r.instrument.id)
                venue = r.instrument.venue
                if self.reference is not None and venue not in self._venues:
                    self._venues.add(venue)
                    changed.update(self.reference(venue, ev.valid_time))
            elif t == "TradeExecuted" or t == "LateTradeReported" or t == "TradeBusted":
                sign = -1 if t == "TradeBusted" else 1
                self._fill(changed, r.buy_account, r.instrument, sign * r.qty, sign * r.qty * r.price)
                self._fill(changed, r.sell_account, r.instrument, -sign * r.qty, -sign * r.qty * r.price)
                books.add(r.instrument)
            elif t == "TradeCorrected":
                dq, dn = r.qty - r.old_qty, r.qty * r.price - r.old_qty * r.old_price
                self._fill(changed, r.buy_account, r.instrument, dq, dn)
                self._fill(changed, r.sell_account, r.instrument, -dq, -dn)
            elif ev.stream.startswith("book/"):
                books.add(ev.stream[5:])
        for inst in books:
            if inst in self.market.state.books:
                changed[f"bbo:{inst}"] = self.market.bbo(inst)
        version = batch[-1].seq
        pipe = self.r.pipeline(transaction=True)
        old = self.r.hmget(f"{self.ns}:index", list(changed)) if changed else []
        for logical, value in changed.items():
            pipe.set(_key(self.ns, version, logical), _json.encode(value))
        if changed:
            pipe.hset(f"{self.ns}:index", mapping=dict.fromkeys(changed, version))
        for logical, prev in zip(changed, old, strict=True):
            if prev is not None:
                pipe.expire(_key(self.ns, int(prev), logical), self.keep_s)
        pipe.set(f"{self.ns}:position", version)
        pipe.execute()
        self._pos = version

    def _fill(self, changed: dict[str, Any], account: str, instrument: str, qty: int, cost: int) -> None:
        p = self.positions.setdefault((account, instrument), [0, 0])
        p[0] += qty
        p[1] += cost
        changed[f"position:{account}:{instrument}"] = {
            "account": account, "instrument": instrument, "net": p[0], "cost": p[1],
        }  # fmt: skip

    def close(self) -> None:
        self.r.close()


class RedisReader:
    """What another process reads: one consistent version of every read model."""

    def __init__(self, url: str, *, namespace: str = "chronex") -> None:
        self.ns = namespace
        self.r = redis.Redis.from_url(url)

    def snapshot(self, prefix: str = "") -> tuple[int, dict[str, Any]]:
        """``(version, {logical key: value})`` of the keys starting with ``prefix``, all of one
        version: the index and position are read in one MULTI/EXEC."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hgetall(f"{self.ns}:index")
        pipe.get(f"{self.ns}:position")
        index, pos = pipe.execute()
        wanted = [(k.decode(), int(v)) for k, v in index.items() if k.decode().startswith(prefix)]
        values = self.r.mget([_key(self.ns, v, k) for k, v in wanted]) if wanted else []
        out = {
            k: msgspec.json.decode(raw) for (k, _), raw in zip(wanted, values, strict=True) if raw is not None
        }
        return (int(pos) if pos is not None else 0), out

    def get(self, logical: str) -> Any:
        v = self.r.hget(f"{self.ns}:index", logical)
        if v is None:
            return None
        raw = self.r.get(_key(self.ns, int(v), logical))
        return None if raw is None else msgspec.json.decode(raw)

    def close(self) -> None:
        self.r.close()
