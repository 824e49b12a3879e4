"""QuickFIX engines in a process of their own, driven by the tests one JSON line at a time.

quickfix-py crashes now and then in its own threads (a segfault in the initiator's timer, and in
stop() when it frees sessions): in the pytest worker such a crash took the worker and the rest of
the run with it. Here it ends this process only, and the test that drives it fails naming it.
QuickFIX's stop() is never called: a session logs out (a FIX Logout exchange, what the tests
look at), and the process leaves without freeing QuickFIX's engines.

    python -m tests.integration.quickfix_peer      # reads requests on stdin, answers on stdout

Requests (each answered by one line, ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``):

- ``engine``: name, kind (initiator or acceptor), cfg (a QuickFIX settings file), store (memory
  or file), log (screen or file), tags and header_tags to keep of each application message, and
  app (another engine's name, to share its application);
- ``wait_logon`` / ``wait_logout``: name, timeout (``clear`` forgets a logon seen);
- ``send``: name, to (the session's TargetCompID), msg_type, fields ``[[tag, text], ...]``;
- ``get``: name, timeout: the next application message as ``{tag: text}`` plus ``raw``;
- ``forward``: name: relay every application message between the application's two sessions;
- ``logout``: name, timeout: every session of the engine's application logs out (FIX Logout,
  answered); answers whether all did, and the session Rejects it saw;
- ``exit``: answers, then leaves without running QuickFIX's destructors.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from typing import Any

import quickfix as fix


def order(msg_type: str, fields: list[list[Any]]) -> Any:
    m = fix.Message()
    m.getHeader().setField(fix.MsgType(msg_type))
    for tag, value in fields:
        m.setField(fix.StringField(int(tag), str(value)))
    m.setField(fix.TransactTime())
    return m


class App(fix.Application):  # type: ignore[misc]
    """One engine's application: its sessions by TargetCompID, what it was sent, its logons."""

    def __init__(self, tags: list[int], header_tags: list[int]) -> None:
        super().__init__()
        self.tags = tags
        self.header_tags = header_tags
        self.sessions: dict[str, Any] = {}
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.on: set[str] = set()  # sessions logged on, by TargetCompID
        self.app: queue.Queue[dict[str, str]] = queue.Queue()
        self.admin_rejects: list[str] = []
        self.forwarding = False

    def onCreate(self, session_id: Any) -> None:
        self.sessions[session_id.getTargetCompID().getValue()] = session_id

    def onLogon(self, session_id: Any) -> None:
        self.on.add(session_id.getTargetCompID().getValue())
        self.logged_on.set()

    def onLogout(self, session_id: Any) -> None:
        self.on.discard(session_id.getTargetCompID().getValue())
        self.logged_out.set()

    def toAdmin(self, message: Any, session_id: Any) -> None:
        pass

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) == "3":
            self.admin_rejects.append(message.toString().replace("\x01", "|"))

    def toApp(self, message: Any, session_id: Any) -> None:
        pass

    def fromApp(self, message: Any, session_id: Any) -> None:
        if self.forwarding:
            came_from = session_id.getTargetCompID().getValue()
            to = next(t for t in self.sessions if t != came_from)
            fix.Session.sendToTarget(fix.Message(message.toString(), False), self.sessions[to])
            return
        header = message.getHeader()
        fields = {str(tag): header.getField(tag) for tag in self.header_tags if header.isSetField(tag)}
        for tag in self.tags:
            if message.isSetField(tag):
                fields[str(tag)] = message.getField(tag)
        fields["raw"] = message.toString()
        self.app.put(fields)


class Peer:
    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.engines: dict[str, Any] = {}
        # QuickFIX holds its settings and factories by reference: all live as long as this process.
        self.keep: list[Any] = []

    def engine(self, name: str, kind: str, cfg: str, store: str = "memory", log: str = "screen",
               tags: list[int] = (), header_tags: list[int] = (35,),
               app: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Start engine ``name``; ``app`` names an engine whose application this one shares."""
        settings = fix.SessionSettings(cfg)
        stores = fix.FileStoreFactory(settings) if store == "file" else fix.MemoryStoreFactory()
        logs = fix.FileLogFactory(settings) if log == "file" else fix.ScreenLogFactory(False, False, False)
        application = self.apps[app] if app is not None else App(list(tags), list(header_tags))
        cls = fix.SocketAcceptor if kind == "acceptor" else fix.SocketInitiator
        engine = cls(application, stores, settings, logs)
        self.keep += [settings, stores, logs, application, engine]
        self.apps[name], self.engines[name] = application, engine
        engine.start()
        return {}

    def wait_logon(self, name: str, timeout: float) -> dict[str, Any]:
        return {"logged_on": self.apps[name].logged_on.wait(timeout)}

    def clear(self, name: str) -> dict[str, Any]:
        self.apps[name].logged_on.clear()
        return {}

    def wait_logout(self, name: str, timeout: float) -> dict[str, Any]:
        return {"logged_out": self.apps[name].logged_out.wait(timeout)}

    def send(self, name: str, to: str, msg_type: str, fields: list[list[Any]]) -> dict[str, Any]:
        return {"sent": bool(fix.Session.sendToTarget(order(msg_type, fields), self.apps[name].sessions[to]))}

    def get(self, name: str, timeout: float) -> dict[str, Any]:
        try:
            return {"msg": self.apps[name].app.get(timeout=timeout)}
        except queue.Empty:
            return {"msg": None}

    def forward(self, name: str) -> dict[str, Any]:
        self.apps[name].forwarding = True
        return {}

    def logout(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        app = self.apps[name]
        for sid in list(app.sessions.values()):
            session = fix.Session.lookupSession(sid)
            if session is not None:
                session.logout("done")  # disables it too: an initiator does not reconnect
        deadline = time.monotonic() + timeout
        while app.on and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"logged_out": not app.on, "admin_rejects": app.admin_rejects}


def main() -> None:
    peer = Peer()
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        op = req.pop("op")
        if op == "exit":
            out.write('{"ok": true}\n')
            out.flush()
            # Skip QuickFIX's destructors (the other place it crashes); the OS closes its sockets.
            os._exit(0)
        try:
            reply = {"ok": True, **getattr(peer, op)(**req)}
        except Exception as e:  # the test hears what went wrong; the peer keeps serving
            reply = {"ok": False, "error": f"{op}: {type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
