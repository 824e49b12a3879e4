"""The REST driver: scenarios against ``chronex serve --rest-port`` over HTTP.

Orders, cancels, replaces and user mass cancels go to the REST gateway as a qa-admin client, each
with an ``Idempotency-Key``; the reply is the events the command caused, read from the log by
its session-scoped id (``rest-qa/D:<key>``), as the FIX driver does. What REST has no endpoint
for in a scenario's terms (listings, reference prices, risk and pricing set-up, corrections, a
cancel of an order the gateway never saw) and every read, the clock and the audit answers go
through the admin channel and the log, shared with the FIX driver. Same skip rules: scenarios
tagged ``@inprocess`` are skipped over the wire.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

from steps.drivers.base import Reply, Setup
from steps.drivers.fix import FixDriver, _num
from steps.errors import DriverUnavailable
from system.engine import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    Instrument,
    ListInstrument,
    ReplaceOrder,
    SubmitOrder,
)
from system.server.process import ServeProcess

KEY = "chronex-rest-driver"
NAME = "qa"
KEYS_TOML = f"""\
[[key]]
key = "{KEY}"
name = "{NAME}"
role = "qa-admin"
"""
TIMEOUT_S = 60.0

_server: ServeProcess | None = None
_lock = threading.Lock()


def _shared_server() -> ServeProcess:
    global _server
    with _lock:
        if _server is None or _server.proc.poll() is not None:
            d = Path(tempfile.mkdtemp(prefix="chronex-rest-driver-"))
            atexit.register(shutil.rmtree, d, True)  # after the server's terminate (LIFO)
            (d / "keys.toml").write_text(KEYS_TOML, encoding="utf-8")
            _server = ServeProcess(
                [
                    "--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--allow-reset",
                    "--rest-port", "0", "--api-keys", str(d / "keys.toml"), "--start", "2027-01-04T00:00Z",
                ]
            )  # fmt: skip
            atexit.register(_server.terminate)
        return _server


def order_options(cmd: SubmitOrder, inst: Instrument) -> dict[str, Any]:
    """A new order's optional REST fields (Decimal strings in the instrument's units)."""
    out: dict[str, Any] = {}
    if cmd.price is not None:
        out["price"] = _num(inst.price_increment, cmd.price)
    if cmd.stop_price is not None:
        out["stop_price"] = _num(inst.price_increment, cmd.stop_price)
    if cmd.expire_time is not None:
        out["expire_time_ns"] = cmd.expire_time
    if cmd.display_qty:
        out["display_qty"] = _num(inst.qty_increment, cmd.display_qty)
    return out


def replace_fields(cmd: ReplaceOrder, inst: Instrument) -> dict[str, Any]:
    """A replace's REST body: only what it changes."""
    out: dict[str, Any] = {}
    if cmd.qty is not None:
        out["qty"] = _num(inst.qty_increment, cmd.qty)
    if cmd.price is not None:
        out["price"] = _num(inst.price_increment, cmd.price)
    if cmd.display_qty is not None:
        out["display_qty"] = _num(inst.qty_increment, cmd.display_qty)
    return out


class RestDriver(FixDriver):
    name = "rest"
    wire = True

    def __init__(self) -> None:
        super().__init__()
        self._http: httpx.Client | None = None
        self._keys = itertools.count(1)

    def _address(self) -> tuple[str, int]:
        return "127.0.0.1", _shared_server().admin_port

    def start(self, setup: Setup) -> None:
        super().start(setup)
        proc = _shared_server()
        if self._http is None:
            self._http = httpx.Client(
                base_url=f"http://127.0.0.1:{proc.info['rest_port']}",
                headers={"X-API-Key": KEY},
                timeout=TIMEOUT_S,
            )

    def _connect(self, host: str) -> None:
        pass  # no FIX session: orders go over REST

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        super().close()

    # -- commands --------------------------------------------------------------------------------
    def execute(self, command: Any) -> Reply:
        if isinstance(command, ListInstrument):
            self._instruments[command.instrument.id] = command.instrument
        req = self._request(command)
        if req is None:
            before = self._head()
            return Reply(self.admin.execute(command))
        method, path, body, prefix = req
        key = f"w{next(self._keys)}"
        before = self._head()
        assert self._http is not None
        r = self._http.request(method, path, json=body, headers={"Idempotency-Key": key})
        if r.status_code in (400, 401, 403) or r.status_code >= 500:
            raise DriverUnavailable(f"REST {method} {path} answered {r.status_code}: {r.text}")
        return self._caused_by(f"rest-{NAME}/{prefix}:{key}", before)

    def _known(self, order_id: int, account: str, instrument: str) -> bool:
        """Whether the gateway holds this order as the command names it (else the engine must
        judge the command as sent: an unknown order or a wrong account is its rejection)."""
        assert self._http is not None
        r = self._http.get(f"/v1/orders/{order_id}")
        if r.status_code != 200:
            return False
        o = r.json()
        return bool(o["account"] == account and o["instrument"] == instrument)

    def _request(self, cmd: Any) -> tuple[str, str, dict[str, Any] | None, str] | None:
        if isinstance(cmd, SubmitOrder) and cmd.instrument in self._instruments:
            inst = self._inst(cmd.instrument)
            body: dict[str, Any] = {
                "account": cmd.account,
                "instrument": inst.id,
                "side": cmd.side.value,
                "qty": _num(inst.qty_increment, cmd.qty),
                "order_type": cmd.order_type.value,
                "tif": cmd.tif.value,
                "post_only": cmd.post_only,
                "stp": cmd.stp.value,
                "cross_currency": cmd.cross_currency,
                "client_order_id": cmd.client_order_id,
            }
            body.update(order_options(cmd, inst))
            return "POST", "/v1/orders", body, "D"
        if isinstance(cmd, CancelOrder) and cmd.order_id is not None:
            if self._known(cmd.order_id, cmd.account, cmd.instrument):
                return "DELETE", f"/v1/orders/{cmd.order_id}", None, "F"
            return None
        if isinstance(cmd, ReplaceOrder) and self._known(cmd.order_id, cmd.account, cmd.instrument):
            inst = self._inst(cmd.instrument)
            body = replace_fields(cmd, inst)
            if not body:
                return None
            return "PATCH", f"/v1/orders/{cmd.order_id}", body, "G"
        if isinstance(cmd, CancelAllOrders) and cmd.reason is CancelReason.USER:
            if cmd.instrument is not None and cmd.instrument not in self._instruments:
                return None
            return (
                "POST",
                "/v1/orders/mass-cancel",
                {"account": cmd.account, "instrument": cmd.instrument},
                "q",
            )
        return None


__all__ = ["RestDriver"]
