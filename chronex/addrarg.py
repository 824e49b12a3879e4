"""``host:port`` arguments of the CLI, checked once: a host, a colon, a port from 1 to 65535."""

from __future__ import annotations

from chronex.errors import BadInput


def host_port(option: str, text: str) -> tuple[str, int]:
    """``text`` as (host, port); ``BadInput`` naming ``option`` and the value otherwise."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"{option} {text!r} is not host:port")
    return host, int(port)
