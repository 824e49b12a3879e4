"""FIX 4.4: codec, data dictionary, message store, session layer, acceptor and initiator.

The application (orders in, execution reports out) plugs in through ``Application``; the server
wires it. See docs/fix.md.
"""

from system.gateways.fix.acceptor import FixAcceptor
from system.gateways.fix.config import ConfigError, SessionsConfig, SessionSettings, load_sessions
from system.gateways.fix.dictionary import Dictionary, load_dictionary
from system.gateways.fix.faults import Fault, FaultPlan, load_faults
from system.gateways.fix.initiator import FixInitiator
from system.gateways.fix.message import FixMessage
from system.gateways.fix.reasons import (
    BusinessReject,
    BusinessRejectReason,
    SessionReject,
    SessionRejectReason,
    UnsupportedMessageType,
)
from system.gateways.fix.session import Application, FixSession, SessionID
from system.gateways.fix.store import MessageStore, MessageStoreFactory, store_factory

__all__ = [
    "Application",
    "BusinessReject",
    "BusinessRejectReason",
    "ConfigError",
    "Dictionary",
    "Fault",
    "FaultPlan",
    "FixAcceptor",
    "FixInitiator",
    "FixMessage",
    "FixSession",
    "MessageStore",
    "MessageStoreFactory",
    "SessionID",
    "SessionReject",
    "SessionRejectReason",
    "SessionSettings",
    "SessionsConfig",
    "UnsupportedMessageType",
    "load_dictionary",
    "load_faults",
    "load_sessions",
    "store_factory",
]
