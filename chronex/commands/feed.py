"""``chronex feed``: follow a server's ITCH 5.0 feed, or read a recorded one.

    chronex feed watch --port 9100                 # the book and tape, live (SoupBinTCP)
    chronex feed watch --port 9100 --out day.itch  # record the raw stream (length-prefixed)
    chronex feed watch --mold 239.192.7.7:9200 --request 127.0.0.1:9102   # MoldUDP64 (multicast)
    chronex feed decode day.itch --limit 50        # the messages as a table (or --json)
    chronex feed decode day.itch --book 7203       # the book a subscriber ends with

Bad input (a file that is not ITCH, a port nobody listens on, a rejected login) is one line and
exit 2.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from chronex.addrarg import host_port
from chronex.errors import BadInput
from chronex.outpath import not_a_database
from system.gateways.itch.dayfile import DayFileError, read_messages, save_messages
from system.gateways.itch.feedbook import FeedBook
from system.gateways.itch.messages import FIELDS, PRICE_FIELDS, BadMessage, decode
from system.gateways.itch.mold import MoldClient, is_multicast
from system.gateways.itch.soup import LoginRejected, SoupClient

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
app = typer.Typer(help="Follow or decode an ITCH 5.0 market-data feed.", no_args_is_help=True)


def as_dict(seq: int, msg: bytes) -> dict[str, Any]:
    """One message as a flat dict: seq, type, locate, time (ns since midnight) and its fields."""
    f = decode(msg)
    row: dict[str, Any] = {"seq": seq, "type": f[0], "locate": f[1], "time": f[3]}
    for name, value in zip(FIELDS[f[0]], f[4:], strict=False):
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace").strip()
        elif name in PRICE_FIELDS:
            value = f"{value / 10_000:.4f}"
        row[name] = value
    return row


def _clock(ns: int) -> str:
    s, frac = divmod(ns, 10**9)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}"


def decode_cmd(
    file: Annotated[str, typer.Argument(help="A day file: length-prefixed ITCH 5.0 messages.")],
    limit: Annotated[int | None, typer.Option(help="Show at most N messages.")] = None,
    types: Annotated[str | None, typer.Option("--types", help="Only these types, e.g. A,E,P,Q.")] = None,
    book: Annotated[
        str | None, typer.Option(help="Print the book of this symbol at the end instead.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Turn a recorded ITCH stream into a table."""
    if Path(file).is_dir():
        raise BadInput(f"feed file {file!r}: is a folder")
    if not Path(file).is_file():
        raise BadInput(f"feed file {file!r}: no such file")
    if limit is not None and limit < 1:
        raise BadInput(f"--limit {limit} must be at least 1")
    wanted = {t.strip() for t in types.split(",")} if types else None
    unknown = sorted((wanted or set()) - set(FIELDS))
    if unknown:
        known = ", ".join(sorted(FIELDS))
        raise BadInput(f"--types {unknown[0]!r} is not an ITCH 5.0 message type ({known})")
    rows: list[dict[str, Any]] = []
    fb = FeedBook()
    try:
        for i, msg in enumerate(read_messages(file), start=1):
            if book is not None:
                fb.apply(msg)
                continue
            row = as_dict(i, msg)
            if wanted is not None and row["type"] not in wanted:
                continue
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    except (DayFileError, BadMessage) as e:
        raise BadInput(f"feed file {file!r} is not an ITCH 5.0 day file: {e}") from None
    if book is not None:
        if book not in fb.levels:
            raise BadInput(f"--book {book!r}: no such stock in {file!r} (has {', '.join(sorted(fb.levels))})")
        if json:
            bids, asks = fb.book(book)
            typer.echo(msgspec.json.encode({"stock": book, "bids": bids, "asks": asks}).decode())
        else:
            out.print(_book_table(fb, book))
        return
    if json:
        for row in rows:
            typer.echo(msgspec.json.encode(row).decode())
        return
    table = Table(title=f"{file}: {len(rows)} messages")
    for col in ("seq", "time", "type", "stock", "side", "shares", "price", "ref", "details"):
        table.add_column(col, justify="right" if col in ("seq", "shares", "price", "ref") else "left")
    for r in rows:
        rest = {
            k: v
            for k, v in r.items()
            if k not in ("seq", "time", "type", "stock", "side", "shares", "price", "ref", "locate")
        }
        table.add_row(
            str(r["seq"]), _clock(r["time"]), r["type"], str(r.get("stock", fb.symbols.get(r["locate"], ""))),
            str(r.get("side", "")), str(r.get("shares", "")), str(r.get("price", "")), str(r.get("ref", "")),
            " ".join(f"{k}={v}" for k, v in rest.items() if v not in ("", 0) and k != "reserved"),
        )  # fmt: skip
    out.print(table)


def _book_table(fb: FeedBook, stock: str, depth: int = 10) -> Table:
    bids, asks = fb.book(stock)
    t = Table(title=f"{stock} ({fb.states.get(stock, '?')})")
    for col in ("orders", "bid qty", "bid", "ask", "ask qty", "orders "):
        t.add_column(col, justify="right")
    for i in range(min(depth, max(len(bids), len(asks)))):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        t.add_row(
            str(len(b[1])) if b else "", str(sum(q for _, q in b[1])) if b else "",
            f"{b[0] / 10_000:.4f}" if b else "", f"{a[0] / 10_000:.4f}" if a else "",
            str(sum(q for _, q in a[1])) if a else "", str(len(a[1])) if a else "",
        )  # fmt: skip
    return t


def _tape_table(fb: FeedBook, last: int = 12) -> Table:
    t = Table(title="tape")
    for col in ("type", "stock", "price", "shares", "match"):
        t.add_column(col, justify="right")
    for p in fb.tape[-last:]:
        t.add_row(p.type, p.stock, f"{p.price / 10_000:.4f}", str(p.shares), str(p.match))
    return t


def watch(
    port: Annotated[int | None, typer.Option(help="The server's ITCH (SoupBinTCP) port.")] = None,
    host: Annotated[str, typer.Option(help="The server's host.")] = "127.0.0.1",
    user: Annotated[str, typer.Option(help="SoupBinTCP username.")] = "",
    password: Annotated[str, typer.Option(help="SoupBinTCP password.")] = "",
    seq: Annotated[int, typer.Option(help="First sequence number (1: the whole day, 0: from now).")] = 1,
    mold: Annotated[
        str | None,
        typer.Option(
            help="Watch the MoldUDP64 stream instead: the group:port (or host:port) the server sends "
            "it to (its --mold-to)."
        ),
    ] = None,
    request: Annotated[
        str | None, typer.Option(help="With --mold: the server's retransmission host:port (its mold_port).")
    ] = None,
    interface: Annotated[
        str, typer.Option(help="With --mold and a group: the local address to join it through.")
    ] = "127.0.0.1",
    out_file: Annotated[str | None, typer.Option("--out", help="Record the raw stream to this file.")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after N messages.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the --out file if it exists.")] = False,
) -> None:
    """Subscribe to a running server's feed: show the book and tape live, or record the stream."""
    if seq < 0:
        raise BadInput(f"--seq {seq} must not be negative")
    if count is not None and count < 1:
        raise BadInput(f"--count {count} must be at least 1")
    if port is not None and not 0 < port < 65536:
        raise BadInput(f"--port {port} is not a port (1-65535)")
    if out_file is not None:
        if Path(out_file).is_dir():
            raise BadInput(f"--out {out_file!r}: is a folder (give a file name)")
        if not Path(out_file).resolve().parent.is_dir():
            raise BadInput(f"--out {out_file!r}: directory does not exist")
        if Path(out_file).exists() and not overwrite:
            raise BadInput(f"--out {out_file!r} already exists (use --overwrite to replace it)")
        not_a_database(Path(out_file), "--out")
    if (port is None) == (mold is None):
        raise BadInput("give --port (SoupBinTCP) or --mold (MoldUDP64), one of them")
    if mold is not None:
        to = host_port("--mold", mold)
        if request is None:
            raise BadInput("--mold needs --request host:port, the server's MoldUDP64 retransmission port")
        req = host_port("--request", request)
        try:
            n = asyncio.run(_watch_mold(to, req, interface, out_file, count))
        except OSError as e:
            raise BadInput(f"cannot listen for MoldUDP64 on {mold}: {e.strerror or e}") from None
    else:
        assert port is not None
        try:
            n = asyncio.run(_watch(host, port, user, password, seq, out_file, count))
        except LoginRejected as e:
            raise BadInput(f"{host}:{port}: {e}") from None
        except TimeoutError:
            raise BadInput(
                f"{host}:{port} does not answer a SoupBinTCP login within {LOGIN_TIMEOUT_S:.0f} s"
                " (is it the server's itch_port?)"
            ) from None
        except EOFError:  # asyncio.IncompleteReadError: it closed mid-packet, not a SoupBinTCP server
            raise BadInput(
                f"{host}:{port} closed the connection: not a SoupBinTCP feed (is it the server's itch_port?)"
            ) from None
        except OSError as e:
            raise BadInput(f"cannot reach a feed at {host}:{port}: {e.strerror or e}") from None
    if out_file is not None:
        out.print(f"{n:,} messages written to {out_file}")


LOGIN_TIMEOUT_S = 10.0  # a port that is not a SoupBinTCP server never answers the login


class _Viewer:
    """The book and tape shown live as messages arrive, or the messages kept for ``--out``.

    The view is redrawn from the event loop (``refresh``, a few times a second while messages
    change it), never from rich's own thread, which would read the book while it changes. A run
    stopped by Ctrl-C keeps what arrived: each message whole, without the End of Messages a
    complete day ends with, so a decoder can tell the recording stops early."""

    REFRESH_S = 0.25

    def __init__(self, out_file: str | None) -> None:
        self.out_file = out_file
        self.fb = FeedBook()
        self.got: list[bytes] = []
        self.n = 0
        self._shown = 0
        self.interrupted = False
        self.live = Live(self._view(), console=out, auto_refresh=False) if out_file is None else None

    def _view(self) -> Group:
        fb = self.fb
        return Group(*(_book_table(fb, s, 5) for s in sorted(fb.levels)), _tape_table(fb))

    def add(self, msg: bytes) -> None:
        self.n += 1
        if self.out_file is not None:
            self.got.append(msg)
            return
        self.fb.apply(msg)

    def redraw(self) -> None:
        if self.live is not None and self._shown != self.n:
            self._shown = self.n
            self.live.update(self._view(), refresh=True)

    async def refresh(self) -> None:
        """Redraw while messages arrive (a task beside the subscriber's)."""
        while True:
            await asyncio.sleep(self.REFRESH_S)
            self.redraw()

    def __enter__(self) -> _Viewer:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        stopped = kind is not None and issubclass(kind, (KeyboardInterrupt, asyncio.CancelledError))
        if self.live is not None:
            self.redraw()
            self.live.__exit__(None, None, None)
        if self.out_file is not None and (kind is None or stopped):  # a run that failed records nothing
            save_messages(self.out_file, self.got)
            if stopped:
                err.print(
                    f"stopped: {self.n:,} messages written to {self.out_file}"
                    " (cut short: no End of Messages)",
                    soft_wrap=True,
                )


async def _watch(
    host: str, port: int, user: str, password: str, seq: int, out_file: str | None, count: int | None
) -> int:
    client = SoupClient()
    await asyncio.wait_for(client.connect(host, port, user, password, "", seq), LOGIN_TIMEOUT_S)
    with _Viewer(out_file) as v:
        redraw = asyncio.ensure_future(v.refresh())
        try:
            async for msg in client.messages():
                v.add(msg)
                if count is not None and v.n >= count:
                    break
        finally:
            redraw.cancel()
    await client.close()
    return v.n


async def _watch_mold(
    to: tuple[str, int], request: tuple[str, int], interface: str, out_file: str | None, count: int | None
) -> int:
    """Until End of Session with no gap left, or ``count`` messages."""
    enough = asyncio.Event()
    v = _Viewer(out_file)

    def add(msg: bytes) -> None:
        if count is None or v.n < count:
            v.add(msg)
            if count is not None and v.n >= count:
                enough.set()

    client = MoldClient(add, request)
    group = to[0] if is_multicast(to[0]) else None
    await client.start(interface if group else to[0], to[1], group=group)  # before the live view
    try:
        with v:
            done = asyncio.ensure_future(client.done.wait())
            stop = asyncio.ensure_future(enough.wait())
            redraw = asyncio.ensure_future(v.refresh())
            try:
                await asyncio.wait((done, stop), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (done, stop, redraw):
                    t.cancel()
    finally:
        client.close()
    return v.n


def register(root: typer.Typer) -> None:
    app.command("decode")(decode_cmd)
    app.command("watch")(watch)
    root.add_typer(app, name="feed")
