"""What the feed tests over sockets share."""

from __future__ import annotations

import socket


def free_udp_port() -> int:
    """A UDP port nobody on 127.0.0.1 holds now (for a multicast group's stream)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
    finally:
        probe.close()


def multicast_on_loopback() -> str | None:
    """Why multicast cannot be tested here (None: it can): a group joined on 127.0.0.1 must get a
    datagram sent to it out of 127.0.0.1."""
    group = "239.255.90.1"
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        r.bind((group, 0))
        port = r.getsockname()[1]
        mreq = socket.inet_aton(group) + socket.inet_aton("127.0.0.1")
        r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        r.settimeout(1.0)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        s.sendto(b"x", (group, port))
        r.recv(16)
    except OSError as e:
        return f"no multicast on loopback here: {e}"
    finally:
        r.close()
        s.close()
    return None
