"""Request and response bodies of the REST gateway: the OpenAPI document's schemas.

Prices and quantities are decimal strings on the wire ("2510.5"); instants are RFC 3339 text
(``..._ns`` fields carry the same instant as integer ns for programs that want exactness).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from system.engine.orders import OrderType, SelfTradePrevention, Side, TimeInForce
from system.engine.phases import Phase

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/\-*]+$")]
# Zero and negative amounts reach the engine, which rejects them with its reason (as over FIX).
Amount = Annotated[Decimal, Field(max_digits=30, allow_inf_nan=False)]
DecimalText = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitOrderBody(_In):
    account: Id
    instrument: Id
    side: Side
    qty: Amount
    order_type: OrderType = OrderType.LIMIT
    price: Amount | None = None
    stop_price: Amount | None = None
    tif: TimeInForce = TimeInForce.DAY
    expire_time: datetime | None = Field(None, description="GTD: when the order expires")
    expire_time_ns: Annotated[int, Field(ge=0, lt=2**63)] | None = Field(
        None, description="GTD: the same instant in ns since the epoch (exact; wins over expire_time)"
    )
    post_only: bool = False
    display_qty: Amount | None = Field(None, description="an iceberg: the quantity shown at a time")
    stp: SelfTradePrevention = SelfTradePrevention.NONE
    cross_currency: bool = False
    client_order_id: Id | None = Field(None, description="default: the Idempotency-Key, else one made up")


class ReplaceOrderBody(_In):
    qty: Amount | None = Field(None, description="new total quantity (filled + open)")
    price: Amount | None = None
    display_qty: Amount | None = None


class MassCancelBody(_In):
    account: Id
    instrument: Id | None = None


class OrderOut(BaseModel):
    order_id: int
    account: str
    instrument: str
    client_order_id: str
    side: str
    order_type: str
    price: DecimalText | None
    stop_price: DecimalText | None
    qty: DecimalText
    filled: DecimalText
    leaves: DecimalText
    avg_price: DecimalText | None
    tif: str
    status: Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED"]
    reason: str
    seq: int = Field(description="the last log entry that changed this order")


class EventOut(BaseModel):
    seq: int
    type: str
    stream: str
    time: str
    time_ns: int
    payload: dict[str, Any]


class CommandAnswer(BaseModel):
    """What a command caused: its log entry, the events it appended, the order they concern."""

    seq: int
    duplicate: bool = Field(description="true: a retry under the same Idempotency-Key")
    order_id: int | None = Field(None, description="the order a submit created")
    status: str | None = Field(None, description="the order's status after this command alone")
    events: list[EventOut]


class Level(BaseModel):
    price: DecimalText
    qty: DecimalText
    count: int


class L1Out(BaseModel):
    instrument: str
    seq: int
    phase: Phase
    bid: DecimalText | None
    bid_qty: DecimalText
    ask: DecimalText | None
    ask_qty: DecimalText


class L2Out(BaseModel):
    instrument: str
    seq: int
    phase: Phase
    bids: list[Level]
    asks: list[Level]


class L3Order(BaseModel):
    order_id: int
    price: DecimalText
    visible: DecimalText
    account: str | None = Field(description="shown to qa-admin and auditors, and to a trader for its own")


class L3Out(BaseModel):
    instrument: str
    seq: int
    phase: Phase
    bids: list[L3Order]
    asks: list[L3Order]


class TradeOut(BaseModel):
    seq: int
    trade_id: int
    instrument: str
    price: DecimalText
    qty: DecimalText
    aggressor: str | None
    buy_account: str | None
    sell_account: str | None
    time: str
    time_ns: int


class PositionOut(BaseModel):
    account: str
    instrument: str
    qty: DecimalText
    avg_price: DecimalText | None
    currency: str
    realised: str
    unrealised: str
    fees: str


class BalanceOut(BaseModel):
    account: str
    currency: str
    amount: str


class PnlOut(BaseModel):
    account: str
    currency: str
    realised: str
    unrealised: str
    fees: str
    net: str


class MarginOut(BaseModel):
    account: str
    currency: str
    cash: str
    unrealised: str
    equity: str
    initial_margin: str
    maintenance_margin: str
    available: str
    utilisation_bp: int | None
    level: int


class AccountEventOut(BaseModel):
    seq: int
    type: str
    time: str
    time_ns: int
    payload: dict[str, Any]


class BarOut(BaseModel):
    instrument: str
    interval: str
    start: str
    start_ns: int
    trade_date: str
    open: DecimalText
    high: DecimalText
    low: DecimalText
    close: DecimalText
    volume: DecimalText
    trades: int


class PhaseOut(BaseModel):
    venue: str
    instrument: str | None
    phase: Phase


class CalendarEntry(BaseModel):
    at: str
    at_ns: int
    phase: Phase


class CalendarOut(BaseModel):
    venue: str
    phase: Phase | None
    transitions: list[CalendarEntry]


class ClockOut(BaseModel):
    now: str
    now_ns: int
    mode: str  # virtual, paced or wall: as --clock names it
    controllable: bool


class ClockBody(_In):
    op: Literal["set", "advance", "run_until", "run_until_phase"]
    at: datetime | None = Field(None, description="set / run_until: the instant")
    seconds: Annotated[Decimal, Field(ge=0, le=10**7, allow_inf_nan=False)] | None = Field(
        None, description="advance: how far"
    )
    venue: Id | None = Field(None, description="run_until_phase")
    phase: Phase | None = Field(None, description="run_until_phase")


class VenueBody(_In):
    reason: Annotated[str, Field(max_length=200)] = ""
    instrument: Id | None = None


class KillSwitchBody(_In):
    account: Id = Field(description='"*": the whole firm')
    engage: bool = True
    reason: Annotated[str, Field(max_length=200)] = ""


class AsOfOut(BaseModel):
    as_of: str
    as_of_ns: int
    seq: int
    head_seq: int
    head_hash: str
    basis: str
    books: list[L2Out]
    open_orders: list[OrderOut]


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    problem: str | None
    seq: int | None


class HeadOut(BaseModel):
    seq: int
    hash: str


class InstrumentOut(BaseModel):
    id: str
    venue: str
    currency: str
    price_increment: str
    qty_increment: str
    lot_size: int
