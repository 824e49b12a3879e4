"""The query side of the REST gateway: read models of its own, folded off the sequencer.

CQRS, brief principle 3: a query is answered by a projection fed from the log, never by the
engine's thread. ``QuerySide`` holds a ``MarketData`` and an ``AccountsProjection`` of its own; the
sequencer hands each appended batch over through the subscription seam (``Handoff``, a
``Subscriber``), and the batch is folded on the loop that answers the queries: the REST thread's
when the gateway serves in a thread of its own (``RestGateway.start``), the caller's otherwise.
Only that loop ever touches these objects, and a batch is folded in one callback, so an answer
always describes a whole append (a per-batch snapshot), never half of one.

The hot queries (L1 and L2 books, positions) are answered here from bytes cached per read-model
position; anything else (another query string, a missing or refused key, an unknown instrument)
is left to the FastAPI application, which gives the same answer and every problem+json.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from system.engine import Instrument
from system.engine.marketdata import MarketData
from system.eventlog.codec import LoggedEvent
from system.gateways.rest.keys import KeyRing
from system.gateways.rest.render import json_bytes, l1_fields, l2_fields, position_fields
from system.gateways.rest.security import EVERYONE
from system.risk.projections import AccountsProjection

_DEPTH = re.compile(rb"depth=([1-9][0-9]{0,3})")
_BOOKS = "/v1/books/"
_ACCOUNTS = "/v1/accounts/"
CACHE_LIMIT = 4096
"""Cached answers kept per read-model position at most (distinct paths and depths)."""


class QuerySide:
    """Read models folded from handed-over batches, and the hot queries answered from them."""

    def __init__(self, accounts: AccountsProjection | None) -> None:
        self.marketdata = MarketData()
        # A ledger of its own with the host's settings (None: the server keeps no ledger).
        self.accounts = None if accounts is None else AccountsProjection(accounts.config)
        self.position = 0
        self._cache: dict[tuple[str, bytes], bytes] = {}

    def fold(self, batch: Sequence[LoggedEvent]) -> None:
        """Apply one handed-over batch (gapless, in seq order; entries already seen are skipped)."""
        if not batch or batch[-1].seq <= self.position:
            return
        self.marketdata.handle_batch(batch)
        if self.accounts is not None:
            self.accounts.handle_batch(batch)
        self.position = batch[-1].seq
        self._cache.clear()

    def instrument(self, instrument: str) -> Instrument | None:
        book = self.marketdata.state.books.get(instrument)
        return None if book is None else book.inst

    # -- the hot queries ---------------------------------------------------------------------------
    def answer(self, keys: KeyRing, path: str, query: bytes, api_key: str | None) -> bytes | None:
        """The JSON body of a 200 answer to ``GET path?query`` from this side's read models, or
        None when the FastAPI application must answer (a problem, or a query not served here)."""
        if api_key is None:
            return None
        who = keys.get(api_key)
        if who is None or who.role not in EVERYONE:
            return None
        key = (path, query)
        hit = self._cache.get(key)
        if hit is not None:
            # Safe to share across keys: these answers show no account the caller may not see.
            return hit if not path.startswith(_ACCOUNTS) or who.may_see(_account_of(path)) else None
        body = self._render(path, query, who.may_see)
        if body is not None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = body
        return body

    def _render(self, path: str, query: bytes, may_see: Callable[[str], bool]) -> bytes | None:
        if path.startswith(_BOOKS):
            rest = path[len(_BOOKS) :]
            if rest.endswith("/l2"):
                depth: int | None = None
                if query:
                    m = _DEPTH.fullmatch(query)
                    if m is None or int(m[1]) > 1000:
                        return None
                    depth = int(m[1])
                inst = self.instrument(rest[:-3])
                if inst is None:
                    return None
                return json_bytes(l2_fields(inst, self.marketdata.depth(inst.id, depth)))
            if rest.endswith("/l1") and not query:
                inst = self.instrument(rest[:-3])
                if inst is None:
                    return None
                return json_bytes(l1_fields(inst, self.marketdata))
            return None
        if path.startswith(_ACCOUNTS) and path.endswith("/positions") and not query:
            account = _account_of(path)
            if not account or "/" in account or not may_see(account) or self.accounts is None:
                return None
            known = self.instrument
            try:
                rows = position_fields(self.accounts, account, lambda i: _must(known(i)))
            except LookupError:
                return None
            return json_bytes(rows)
        return None


def _account_of(path: str) -> str:
    return path[len(_ACCOUNTS) : -len("/positions")]


def _must(inst: Instrument | None) -> Instrument:
    if inst is None:
        raise LookupError("instrument not listed on the query side")
    return inst


class Handoff:
    """The query side's ``Subscriber`` on the sequencer: hands each batch to ``post``.

    ``post(fn, batch)`` runs ``fn(batch)`` on the query side's loop: ``call_soon_threadsafe`` of
    the REST thread's loop once it serves, a plain call before. Calls are queued in order, so the
    query side folds gapless, and the reply to a command (sent after its batch was handed over)
    never overtakes that batch: a client reads its own writes.
    """

    def __init__(self, side: QuerySide, post: Callable[..., Any]) -> None:
        self.name = "rest-queries"
        self.side = side
        self.post = post
        self._pos = 0

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        self.post(self.side.fold, list(batch))
        self._pos = batch[-1].seq
