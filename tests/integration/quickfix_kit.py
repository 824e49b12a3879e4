"""QuickFIX (the quickfix-py wheel) as an independent FIX engine, shared by the tests that drive
Chronex with it: its FIX 4.4 dictionary, an order builder and an initiator application that
collects what it is sent. Importing this skips the importing module when quickfix is missing."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

fix = pytest.importorskip("quickfix")

DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"


def order(msg_type: str, fields: list[tuple[int, str]]) -> Any:
    """An application message of ``msg_type`` with ``fields`` (as text) and a TransactTime."""
    m = fix.Message()
    m.getHeader().setField(fix.MsgType(msg_type))
    for tag, value in fields:
        m.setField(fix.StringField(tag, value))
    m.setField(fix.TransactTime())
    return m


class Client(fix.Application):  # type: ignore[misc]
    """Collects what QuickFIX's initiator sees, from its own threads: each application message
    as ``{tag: value}`` of the header tags and body tags asked for, and session Rejects as text."""

    def __init__(self, tags: Iterable[int], header_tags: Iterable[int] = (35,)) -> None:
        super().__init__()
        self.tags = tuple(tags)
        self.header_tags = tuple(header_tags)
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.app: queue.Queue[dict[int, str]] = queue.Queue()
        self.admin_rejects: list[str] = []
        self.session_id: Any = None
        self.keep: tuple[Any, ...] = ()  # QuickFIX's factories, held until after stop()

    def onCreate(self, session_id: Any) -> None:
        self.session_id = session_id

    def onLogon(self, session_id: Any) -> None:
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        self.logged_out.set()

    def toAdmin(self, message: Any, session_id: Any) -> None:
        pass

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) == "3":
            self.admin_rejects.append(message.toString().replace("\x01", "|"))

    def toApp(self, message: Any, session_id: Any) -> None:
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:
        header = message.getHeader()
        fields = {tag: header.getField(tag) for tag in self.header_tags}
        for tag in self.tags:
            if message.isSetField(tag):
                fields[tag] = message.getField(tag)
        self.app.put(fields)
