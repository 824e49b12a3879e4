"""Order vocabulary: sides, order types, time in force, self-trade prevention and reason codes.

All are ``StrEnum`` so they encode as plain strings in the log and read well in reports.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"  # becomes a market order when a trade reaches stop_price
    STOP_LIMIT = "STOP_LIMIT"  # becomes a limit order at price when a trade reaches stop_price


class TimeInForce(StrEnum):
    DAY = "DAY"  # expires when the venue enters CLOSED
    GTC = "GTC"
    GTD = "GTD"  # expires at expire_time (ExpireDue)
    IOC = "IOC"  # fill what trades now, cancel the rest
    FOK = "FOK"  # fill all now or cancel all
    ATO = "ATO"  # at the open: takes part in the opening auction only
    ATC = "ATC"  # at the close: takes part in the closing auction only


class SelfTradePrevention(StrEnum):
    """What happens when an incoming order would trade with a resting order of the same account."""

    NONE = "NONE"  # trade as usual
    CANCEL_NEWEST = "CANCEL_NEWEST"  # cancel the incoming order's remainder
    CANCEL_OLDEST = "CANCEL_OLDEST"  # cancel the resting order and keep matching
    CANCEL_BOTH = "CANCEL_BOTH"
    DECREMENT = "DECREMENT"  # reduce both by the smaller quantity, no trade


class BandAction(StrEnum):
    """What a dynamic price band does when a trade would breach it."""

    REJECT = "REJECT"  # orders priced outside are rejected; matching stops at the band
    HALT = "HALT"  # the instrument halts (HALTED) for the band's halt duration


class RejectReason(StrEnum):
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    DUPLICATE_INSTRUMENT = "DUPLICATE_INSTRUMENT"
    INVALID_INSTRUMENT = "INVALID_INSTRUMENT"
    INVALID_QTY = "INVALID_QTY"
    OFF_LOT = "OFF_LOT"
    QTY_BELOW_MIN = "QTY_BELOW_MIN"
    QTY_ABOVE_MAX = "QTY_ABOVE_MAX"
    INVALID_PRICE = "INVALID_PRICE"
    OFF_TICK = "OFF_TICK"
    OUTSIDE_PRICE_LIMITS = "OUTSIDE_PRICE_LIMITS"
    OUTSIDE_PRICE_BAND = "OUTSIDE_PRICE_BAND"
    INVALID_ORDER_TYPE = "INVALID_ORDER_TYPE"
    INVALID_TIF = "INVALID_TIF"
    INVALID_STOP_PRICE = "INVALID_STOP_PRICE"
    INVALID_EXPIRE_TIME = "INVALID_EXPIRE_TIME"
    INVALID_DISPLAY_QTY = "INVALID_DISPLAY_QTY"
    POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    ORDER_CLOSED = "ORDER_CLOSED"  # the order existed but is filled, cancelled or expired
    WRONG_ACCOUNT = "WRONG_ACCOUNT"
    WRONG_PHASE = "WRONG_PHASE"
    NO_CHANGE = "NO_CHANGE"
    INVALID_FX_RATE = "INVALID_FX_RATE"
    # Pre-trade risk (system/risk): the limit that failed is named in the rejection's text and field.
    RISK_KILL_SWITCH = "RISK_KILL_SWITCH"
    RISK_MAX_ORDER_QTY = "RISK_MAX_ORDER_QTY"
    RISK_MAX_NOTIONAL = "RISK_MAX_NOTIONAL"
    RISK_PRICE_COLLAR = "RISK_PRICE_COLLAR"
    RISK_MAX_OPEN_ORDERS = "RISK_MAX_OPEN_ORDERS"
    RISK_MAX_ORDER_RATE = "RISK_MAX_ORDER_RATE"
    RISK_POSITION_LIMIT = "RISK_POSITION_LIMIT"
    RISK_BUYING_POWER = "RISK_BUYING_POWER"
    RISK_NO_PRICE = "RISK_NO_PRICE"  # a market order with no mark, last trade or reference to value it
    RISK_NO_FX_RATE = "RISK_NO_FX_RATE"  # no FX rate to value the order in the account's currency


class CancelReason(StrEnum):
    USER = "USER"
    IOC_REMAINDER = "IOC_REMAINDER"
    FOK_UNFILLED = "FOK_UNFILLED"
    MARKET_REMAINDER = "MARKET_REMAINDER"
    STP = "STP"
    KILL_SWITCH = "KILL_SWITCH"
    PRICE_BAND = "PRICE_BAND"  # matching stopped at the dynamic band (REJECT action)
    PRICE_LIMIT = "PRICE_LIMIT"  # a market order reached the daily price limit


class ExpireReason(StrEnum):
    DAY = "DAY"
    GTD = "GTD"
    ATO = "ATO"  # an at-the-open order (or its rest) that did not trade in the opening auction
    ATC = "ATC"  # an at-the-close order (or its rest) that did not trade in the closing auction
