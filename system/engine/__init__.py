"""The matching engine: reference data, orders, books, phases, auctions, market data.

Everything public is importable from here: ``from system.engine import MatchingEngine, SubmitOrder``.
"""

from typing import TYPE_CHECKING, Any

from system.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    ExpireDue,
    ListInstrument,
    ReplaceOrder,
    SetReferencePrice,
    SubmitOrder,
)
from system.engine.engine import MatchingEngine
from system.engine.events import (
    AuctionUncrossed,
    FxRateSet,
    IcebergReplenished,
    InstrumentHalted,
    InstrumentListed,
    InstrumentResumed,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderReduced,
    OrderRejected,
    OrderReplaced,
    ReferencePriceSet,
    StopTriggered,
    TradeExecuted,
)
from system.engine.orders import (
    BandAction,
    CancelReason,
    ExpireReason,
    OrderType,
    RejectReason,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from system.engine.phases import ChangePhase, Phase, PhaseChanged
from system.engine.refdata import (
    Instrument,
    PriceBand,
    PriceLimits,
    limit_width,
    notional,
    price_to_decimal,
    price_to_int,
    qty_to_decimal,
    qty_to_int,
    tse_price_limits,
    tse_tick_table,
)
from system.engine.views import BookView, LevelView, OrderView

if TYPE_CHECKING:
    from system.engine.marketdata import (
        DepthSnapshot,
        LevelUpdate,
        MarketData,
        OrderUpdate,
        QuoteUpdate,
        TradePrint,
    )

# Market data loads on first use: it imports the engine's fold, which imports this package, so
# importing it here would be circular.
_MARKETDATA = {"DepthSnapshot", "LevelUpdate", "MarketData", "OrderUpdate", "QuoteUpdate", "TradePrint"}


def __getattr__(name: str) -> Any:
    if name in _MARKETDATA:
        from system.engine import marketdata

        return getattr(marketdata, name)
    raise AttributeError(f"module 'system.engine' has no attribute {name!r}")


__all__ = [
    "AuctionUncrossed",
    "BandAction",
    "BookView",
    "CancelAllOrders",
    "CancelOrder",
    "CancelReason",
    "ChangePhase",
    "DepthSnapshot",
    "ExpireDue",
    "ExpireReason",
    "FxRateSet",
    "IcebergReplenished",
    "Instrument",
    "InstrumentHalted",
    "InstrumentListed",
    "InstrumentResumed",
    "LevelUpdate",
    "LevelView",
    "ListInstrument",
    "MarketData",
    "MatchingEngine",
    "OrderAccepted",
    "OrderCancelled",
    "OrderExpired",
    "OrderReduced",
    "OrderRejected",
    "OrderReplaced",
    "OrderType",
    "OrderUpdate",
    "OrderView",
    "Phase",
    "PhaseChanged",
    "PriceBand",
    "PriceLimits",
    "QuoteUpdate",
    "ReferencePriceSet",
    "RejectReason",
    "ReplaceOrder",
    "SelfTradePrevention",
    "SetReferencePrice",
    "Side",
    "StopTriggered",
    "SubmitOrder",
    "TimeInForce",
    "TradeExecuted",
    "TradePrint",
    "limit_width",
    "notional",
    "price_to_decimal",
    "price_to_int",
    "qty_to_decimal",
    "qty_to_int",
    "tse_price_limits",
    "tse_tick_table",
]
