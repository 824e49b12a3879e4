"""The external driver over REST: scenarios against an outside system's REST API, Chronex's engine
as the oracle.

``chronex run --driver rest --target URL --api-key KEY [--sessions FILE] [--oracle]``. The target
speaks Chronex's REST API (docs/rest.md): orders, cancels, replaces and mass cancels go to it as
requests, each with an ``Idempotency-Key``; the steps read only what it publishes: the answer to
each request (the events the command caused, or its problem+json refusal) and, for what happens
between requests (the clock moved, a mock's control channel acted), its instrument streams (SSE),
read from the last seq seen until they are quiet; phases from ``GET /v1/venues``.
``restreports.py`` turns both into order events with local ids, folded into the mirror the FIX
external driver keeps (``external.py``): the oracle, the comparison and the run's record are that
driver's. Requests and answers are recorded as ``RestSent`` / ``RestReceived``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from steps.drivers.base import Reply
from steps.drivers.execreports import Translator
from steps.drivers.external import TIMEOUT_S, ExternalDriver
from steps.drivers.fix import _num
from steps.drivers.rest import order_options, replace_fields
from steps.drivers.restreports import RestReports
from steps.errors import DriverUnavailable
from system.engine import (
    CancelAllOrders,
    CancelOrder,
    CancelReason,
    Instrument,
    ListInstrument,
    Phase,
    ReplaceOrder,
    SubmitOrder,
)
from system.oracle import RestReceived, RestSent, TargetIdentified, observe
from system.oracle.compare import Observation
from system.oracle.resttarget import RestTargetConfig, load_rest_target

ENV_URL = "CHRONEX_REST_TARGET"
ENV_API_KEY = "CHRONEX_REST_API_KEY"
ENV_FILE = "CHRONEX_REST_TARGET_FILE"
ENV_ORACLE = "CHRONEX_ORACLE"


def rest_target_configured() -> bool:
    return bool(os.environ.get(ENV_URL) or os.environ.get(ENV_FILE))


class RestTargetDriver(ExternalDriver):
    name = "rest-external"

    def __init__(self, config: RestTargetConfig | None = None) -> None:
        cfg = config or load_rest_target(
            os.environ.get(ENV_URL) or None,
            os.environ.get(ENV_API_KEY) or None,
            Path(os.environ[ENV_FILE]) if os.environ.get(ENV_FILE) else None,
            oracle=os.environ.get(ENV_ORACLE) == "1",
        )
        super().__init__(cfg)
        self.rcfg = cfg
        self._http: httpx.Client | None = None
        self._cursor = 0  # the last seq of the target's log this run has read
        self._answered: list[Observation] | None = None  # the observations of the last request
        self._keys = 0

    @property
    def session_name(self) -> str:
        return self.rcfg.name

    def _identity(self) -> TargetIdentified:
        c = self.rcfg
        return TargetIdentified(c.name, c.host, c.port, "", c.url, c.sha256, c.oracle)

    def _translator(self, instruments: dict[str, Instrument]) -> Translator:
        back = {v: k for k, v in self.rcfg.tolerances.accounts.items()}
        return RestReports(instruments, accounts_back=back)

    def _label(self) -> str:
        return f"external {self.rcfg.name} at {self.rcfg.url} (REST)"

    @property
    def rr(self) -> RestReports:
        assert isinstance(self.tr, RestReports), "driver not started"
        return self.tr

    def _connect(self) -> None:
        self._http = httpx.Client(
            base_url=self.rcfg.url, headers={"X-API-Key": self.rcfg.api_key}, timeout=TIMEOUT_S
        )
        try:
            r = self._http.get("/v1/audit/head")
        except httpx.HTTPError as e:
            self.close()
            raise DriverUnavailable(
                f"target {self.rcfg.name} at {self.rcfg.url} is unreachable: {e}"
            ) from None
        if r.status_code in (401, 403):
            self.close()
            raise DriverUnavailable(
                f"target {self.rcfg.name} refused the API key ({r.status_code}: {r.text})"
            )
        # Where its log stands: what the streams publish after this is this run's.
        self._cursor = int(r.json().get("seq", 0)) if r.status_code == 200 else 0

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        super().close()

    def phase(self, instrument: str) -> Phase:
        """The phase the target publishes for ``instrument`` (``GET /v1/venues``)."""
        assert self._http is not None
        r = self._http.get("/v1/venues")
        if r.status_code != 200:
            raise DriverUnavailable(
                f"GET /v1/venues from {self.rcfg.name} answered {r.status_code}: {r.text}"
            )
        self.m.runtime.record(RestReceived(self.rcfg.name, "GET /v1/venues", r.status_code, r.text))
        for v in r.json():
            if v.get("instrument") == instrument:
                return Phase(v["phase"])
        raise DriverUnavailable(f"{self.rcfg.name} publishes no phase for {instrument!r} (GET /v1/venues)")

    # -- commands ----------------------------------------------------------------------------------
    def execute(self, command: Any) -> Reply:
        if isinstance(command, ListInstrument):
            self.rr.instruments[command.instrument.id] = command.instrument
            if self._control is not None:
                self._control.execute(command)
                self._cursor = max(self._cursor, self._head())
            if self.oracle is not None:
                self.oracle.execute(command)
            return Reply(list(self.m.execute(command).events))
        req = self._request(command)
        if req is None:
            if self._control is None:
                raise DriverUnavailable(
                    f"{type(command).__name__} cannot reach an external target over REST without a "
                    "control channel (only order entry can): tag the scenario @needs-control"
                )
            return self._act(type(command).__name__, lambda: self._control.execute(command), command)
        method, path, body = req
        key = self._key()
        what = f"{type(command).__name__} {getattr(command, 'client_order_id', '') or key}"
        return self._act(what, lambda: self._call(method, path, body, key, command), command, key)

    def _key(self) -> str:
        self._keys += 1
        return f"x{self._keys}"

    def _head(self) -> int:
        assert self._http is not None
        r = self._http.get("/v1/audit/head")
        return int(r.json()["seq"]) if r.status_code == 200 else self._cursor

    def _request(self, cmd: Any) -> tuple[str, str, dict[str, Any] | None] | None:
        """The REST request for an order-entry command (None: not order entry)."""
        acct = self.rcfg.tolerances.accounts
        if isinstance(cmd, SubmitOrder):
            inst = self.rr.instruments.get(cmd.instrument)
            if inst is None:
                raise DriverUnavailable(f"instrument {cmd.instrument!r} is not listed in this scenario")
            body: dict[str, Any] = {
                "account": acct.get(cmd.account, cmd.account), "instrument": inst.id,
                "side": cmd.side.value, "qty": _num(inst.qty_increment, cmd.qty),
                "order_type": cmd.order_type.value, "tif": cmd.tif.value, "post_only": cmd.post_only,
                "stp": cmd.stp.value, "cross_currency": cmd.cross_currency,
            }  # fmt: skip
            if cmd.client_order_id:
                body["client_order_id"] = cmd.client_order_id
            body.update(order_options(cmd, inst))
            return "POST", "/v1/orders", body
        if isinstance(cmd, CancelOrder | ReplaceOrder):
            # An order the target never acknowledged has no id there: 0 is none, its answer a 404.
            tid = self.rr.target_id(cmd.order_id) or 0
            if isinstance(cmd, CancelOrder):
                return "DELETE", f"/v1/orders/{tid}", None
            inst = self.rr.instruments[cmd.instrument]
            body = replace_fields(cmd, inst)
            return "PATCH", f"/v1/orders/{tid}", body
        if isinstance(cmd, CancelAllOrders) and cmd.reason is CancelReason.USER:
            return "POST", "/v1/orders/mass-cancel", {
                "account": acct.get(cmd.account, cmd.account), "instrument": cmd.instrument,
            }  # fmt: skip
        return None

    def _call(self, method: str, path: str, body: dict[str, Any] | None, key: str, cmd: Any) -> None:
        """One request; its answer (events or a refusal) folded now, for ``_collect`` to return."""
        assert self._http is not None
        rt = self.m.runtime
        text = "" if body is None else json.dumps(body, sort_keys=True)
        rt.record(RestSent(self.rcfg.name, method, path, text))
        try:
            r = self._http.request(method, path, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as e:
            raise DriverUnavailable(f"{method} {path} to {self.rcfg.name} failed: {e}") from None
        rt.record(RestReceived(self.rcfg.name, f"{method} {path}", r.status_code, r.text))
        try:
            doc = r.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise DriverUnavailable(
                f"{method} {path} answered {r.status_code} without a JSON object: {r.text[:200]}"
            )
        if r.status_code < 300:
            msgs = list(doc.get("events") or [])
            self._answered = self._fold(msgs)
            return
        if r.status_code not in (404, 409, 422):  # not a judgement of the command: the link is wrong
            raise DriverUnavailable(f"{method} {path} answered {r.status_code}: {r.text}")
        rec = self.rr.refused(type(cmd).__name__, cmd, r.status_code, doc)
        ev = rt.record(rec, valid_time=self.clock.t)
        # A problem names the command's seq, not the rejection's entries after it: without the
        # head the streams would publish that rejection again at the next clock move.
        self._cursor = max(self._cursor, self._head())
        o = observe(ev.record, ev.valid_time, self.rr.name_of)
        self._answered = [] if o is None else [o]

    def _fold(self, msgs: list[dict[str, Any]]) -> list[Observation]:
        """Fold published messages (seq order, each once) into the mirror; their observations."""
        rt = self.m.runtime
        out: list[Observation] = []
        for msg in sorted(msgs, key=lambda m: int(m.get("seq") or 0)):
            seq = int(msg.get("seq") or 0)
            if seq and seq <= self._cursor:
                continue
            self._cursor = max(self._cursor, seq)
            got = self.rr.local(msg)
            if got is None:
                continue
            rec, t = got
            self.clock.t = max(self.clock.t, t)
            try:
                ev = rt.record(rec, valid_time=t)
            except (KeyError, ValueError) as e:
                raise AssertionError(f"the target's event cannot be folded ({e!r}): {msg}") from None
            o = observe(ev.record, ev.valid_time, self.rr.name_of)
            if o is not None:
                out.append(o)
        return out

    def _collect(self, clid: str | None, want: int) -> list[Observation]:
        """A request's answer came with it; anything else is read from the instrument streams."""
        if self._answered is not None:
            got, self._answered = self._answered, None
            return got
        return self._fold(self._streamed())

    def _streamed(self) -> list[dict[str, Any]]:
        """Every message the instrument streams published after the cursor, read until quiet."""
        assert self._http is not None
        msgs: list[dict[str, Any]] = []
        wait = self.rcfg.reply_wait_s
        for inst in sorted(self.rr.instruments):
            path = f"/v1/streams/instruments/{quote(inst, safe='')}/sse"
            try:
                with self._http.stream(
                    "GET",
                    path,
                    params={"from_seq": self._cursor},
                    timeout=httpx.Timeout(TIMEOUT_S, read=wait),
                ) as r:
                    if r.status_code != 200:
                        raise DriverUnavailable(f"GET {path} answered {r.status_code}: {r.read().decode()}")
                    for line in r.iter_lines():
                        if line.startswith("data:"):
                            m = json.loads(line[5:])
                            self.m.runtime.record(RestReceived(self.rcfg.name, path, 0, line[5:].strip()))
                            msgs.append(m)
            except httpx.ReadTimeout:
                pass  # quiet for the reply wait: the stream has caught up
            except httpx.HTTPError as e:
                raise DriverUnavailable(f"GET {path} from {self.rcfg.name} failed: {e}") from None
        return msgs


__all__ = ["ENV_API_KEY", "ENV_FILE", "ENV_URL", "RestTargetDriver", "rest_target_configured"]
