"""Where the tests find PostgreSQL, Redis and NATS: an explicit URL, the local server, or a container.

For each service, in order:
1. ``CHRONEX_TEST_<SERVICE>_URL`` when set (it must answer: a named URL that does not is a skip
   naming it, never a silent fallback to something else);
2. the local default (what this machine and ``.ci/run`` provide) when it answers;
3. a throwaway container started by testcontainers, where a Docker engine answers (once per test
   process, removed at exit);
4. otherwise None: the caller skips, saying which URL to provide.
Each answer is decided once per process.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SERVICES", "Service", "docker_engine", "resolve", "skip_reason"]


def _answers(url: str, default_port: int) -> bool:
    """A TCP connect to the URL's host and port: enough to tell a running server from none; the
    tests' own fixtures then fail loudly if it is the wrong kind of server."""
    u = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Service:
    name: str  # postgres, redis, nats
    env: str  # the variable that names a URL
    default: str  # the local server's URL
    port: int  # the port inside the container and the URL default
    image: str
    # Container settings: environment and command (NATS needs JetStream on).
    container_env: tuple[tuple[str, str], ...] = ()
    command: str | None = None
    url_of: Callable[[str, int], str] = lambda host, port: f"{host}:{port}"


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "postgres", "CHRONEX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test", 5432,
            "postgres:16-alpine", (("POSTGRES_HOST_AUTH_METHOD", "trust"), ("POSTGRES_DB", "test")),
            url_of=lambda h, p: f"postgresql://postgres@{h}:{p}/test",
        ),
        Service(
            "redis", "CHRONEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0", 6379, "redis:7-alpine",
            url_of=lambda h, p: f"redis://{h}:{p}/0",
        ),
        Service(
            "nats", "CHRONEX_TEST_NATS_URL", "nats://127.0.0.1:4222", 4222, "nats:2.10-alpine",
            command="-js", url_of=lambda h, p: f"nats://{h}:{p}",
        ),
    )
}  # fmt: skip

_resolved: dict[str, str | None] = {}
_engine: list[bool] = []


def docker_engine() -> bool:
    """Whether a Docker engine answers (the client alone is not enough) and testcontainers is
    installed. Set CHRONEX_TEST_NO_CONTAINERS=1 to never start one."""
    if not _engine:
        ok = False
        if not os.environ.get("CHRONEX_TEST_NO_CONTAINERS"):
            ok = _docker_ping() and importlib.util.find_spec("testcontainers") is not None
        _engine.append(ok)
    return _engine[0]


def _docker_ping() -> bool:
    """GET /_ping on the engine's socket (DOCKER_HOST when it names one): the docker client
    being installed says nothing about an engine running."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    u = urllib.parse.urlsplit(host)
    try:
        if u.scheme == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(3)
            with s:
                s.connect(u.path)
                s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b" 200 " in s.recv(64)
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 2375), timeout=3) as c:
            c.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in c.recv(64)
    except OSError:
        return False


def _container(svc: Service) -> str | None:
    from testcontainers.core.container import DockerContainer

    c = DockerContainer(svc.image).with_exposed_ports(svc.port)
    for k, v in svc.container_env:
        c = c.with_env(k, v)
    if svc.command:
        c = c.with_command(svc.command)
    c.start()
    atexit.register(c.stop)
    url = svc.url_of(c.get_container_host_ip(), int(c.get_exposed_port(svc.port)))
    deadline = time.monotonic() + 60  # an image pull is not counted: start() waits for it
    while time.monotonic() < deadline:
        if _answers(url, svc.port):
            time.sleep(1.0 if svc.name == "postgres" else 0.2)  # postgres listens before it accepts
            return url
        time.sleep(0.5)
    return None


def resolve(name: str) -> str | None:
    """The URL the tests use for service ``name``, or None when none can be had."""
    if name not in _resolved:
        svc = SERVICES[name]
        named = os.environ.get(svc.env)
        url: str | None
        if named:
            url = named if _answers(named, svc.port) else None
        elif _answers(svc.default, svc.port):
            url = svc.default
        elif docker_engine():
            try:
                url = _container(svc)
            except Exception:  # a pull refused, no network: the skip message says what to set
                url = None
        else:
            url = None
        _resolved[name] = url
    return _resolved[name]


def skip_reason(name: str) -> str:
    svc = SERVICES[name]
    tried = os.environ.get(svc.env) or svc.default
    how = "" if docker_engine() else "; no Docker engine answers, so no container was started"
    return f"{svc.name} not reachable: set {svc.env}={svc.default} (tried {tried}{how})"
