"""OHLC bars and per-instrument metrics to InfluxDB 1.x, as line protocol over HTTP.

``InfluxBars("http://127.0.0.1:8086/chronex")`` is a log subscriber (the database is the URL's
path, or ``?db=``). It folds the log into the same ``BarProjection`` the system queries and, after
each batch, writes every bar the batch touched and one metrics point per instrument traded:

    chronex_bar,instrument=XTKS:7203,interval=1m,trade_date=2031-01-06
        open=2500i,high=2510i,low=2495i,close=2505i,volume=1200i,trades=7i <bar start ns>
    chronex_instrument,instrument=XTKS:7203
        last=2505i,volume=45000i,trades=312i,seq=18231i <log valid time ns>

(each point is one line; wrapped here to fit)

A point is keyed by measurement, tags and time, so writing a bar again overwrites it: a batch
applied twice changes nothing, and a restarted sink simply folds the log again from seq 1 and
rewrites what it had. A bar that a bust leaves empty is written with ``trades=0``. Prices and
quantities are the log's integers (ticks, lots); times are the log's valid time (virtual clock),
never the wall's. InfluxDB holds nothing the log does not: if it dies, restart the sink.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from system.corrections import LateTradeReported, TradeBusted, TradeCorrected
from system.engine.events import TradeExecuted
from system.eventlog.codec import LoggedEvent
from system.eventlog.store import EventLogError
from system.pricing.bars import SESSIONS, BarProjection


def _tag(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def write_url(url: str) -> str:
    """``http://host:8086/db`` (or ``...?db=NAME``) -> the /write endpoint, ns precision."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ValueError(f"{url!r} is not an InfluxDB URL (http://host:8086/DATABASE)")
    q = dict(urllib.parse.parse_qsl(u.query))
    db = q.pop("db", "") or u.path.strip("/")
    if not db:
        raise ValueError(f"{url!r} names no database (http://host:8086/DATABASE or ?db=NAME)")
    q.update(db=db, precision="ns")
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/write", urllib.parse.urlencode(q), ""))


class InfluxBars:
    """A ``Subscriber`` writing bars and instrument metrics to one InfluxDB 1.x database."""

    def __init__(
        self,
        url: str,
        *,
        intervals: tuple[str, ...] = ("1m", "1h", "1d"),
        name: str = "influx",
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.endpoint = write_url(url)
        self.timeout = timeout
        self.bars = BarProjection(intervals, sessions=SESSIONS)
        self._pos = 0
        self._stats: dict[str, list[int]] = {}  # instrument -> [last, volume, trades]

    def check(self) -> None:
        """That InfluxDB answers (``GET /ping``): a wrong URL fails at start-up, not at the
        first trade."""
        u = urllib.parse.urlsplit(self.endpoint)
        where = f"{u.scheme}://{u.netloc}"
        try:
            with urllib.request.urlopen(f"{where}/ping", timeout=min(self.timeout, 5.0)) as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            raise EventLogError(f"InfluxDB at {where} answers /ping with HTTP {e.code}") from None
        except (OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise EventLogError(f"InfluxDB at {where} does not answer ({reason})") from None

    def position(self) -> int:
        return self._pos

    def handle(self, batch: Sequence[LoggedEvent]) -> None:
        touched: dict[str, set[int]] = {}  # instrument -> trade times the batch touched
        for ev in batch:
            self.bars.handle(ev)
            rec = ev.record
            if isinstance(rec, TradeExecuted):
                touched.setdefault(rec.instrument, set()).add(rec.time)
                st = self._stats.setdefault(rec.instrument, [0, 0, 0])
                st[0] = rec.price
                st[1] += rec.qty
                st[2] += 1
            elif isinstance(rec, (TradeBusted, TradeCorrected, LateTradeReported)):
                touched.setdefault(rec.instrument, set()).add(rec.trade_time)
        lines = self._lines(touched, batch[-1])
        if lines:
            self._write("\n".join(lines).encode())
        self._pos = batch[-1].seq

    def _lines(self, touched: dict[str, set[int]], last: LoggedEvent) -> list[str]:
        out: list[str] = []
        for inst in sorted(touched):
            seen: set[tuple[str, int]] = set()
            for t in sorted(touched[inst]):
                for iv in self.bars.intervals:
                    start = self.bars._start(inst, iv, t)
                    if (iv, start) in seen:
                        continue
                    seen.add((iv, start))
                    b = self.bars.bar_at(inst, iv, t)
                    tags = f"chronex_bar,instrument={_tag(inst)},interval={iv}"
                    if b is None:
                        out.append(f"{tags} trades=0i {start}")
                    else:
                        out.append(
                            f"{tags},trade_date={b.trade_date} open={b.open}i,high={b.high}i,low={b.low}i,"
                            f"close={b.close}i,volume={b.volume}i,trades={b.trades}i {b.start}"
                        )
            st = self._stats.get(inst)
            if st is not None:
                out.append(
                    f"chronex_instrument,instrument={_tag(inst)} last={st[0]}i,volume={st[1]}i,"
                    f"trades={st[2]}i,seq={last.seq}i {last.valid_time}"
                )
        return out

    def _write(self, body: bytes) -> None:
        req = urllib.request.Request(self.endpoint, data=body, method="POST")
        req.add_header("Content-Type", "text/plain; charset=utf-8")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace").strip()[:200]
            raise EventLogError(f"InfluxDB refused a write ({e.code}): {detail}") from None
        except OSError as e:
            raise EventLogError(
                f"InfluxDB at {self.endpoint.split('/write')[0]} does not answer ({e})"
            ) from None

    def close(self) -> None:
        pass
