"""How the tests find a service: a named URL, the local server, a container, else a clear skip."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests import services


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(services, "_resolved", {})
    monkeypatch.setattr(services, "_engine", [])
    yield


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def test_a_named_url_that_does_not_answer_is_a_skip_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A URL the user set is never silently replaced by the local server or a container."""
    url = f"redis://127.0.0.1:{_dead_port()}/0"
    monkeypatch.setenv("CHRONEX_TEST_REDIS_URL", url)
    monkeypatch.setattr(services, "_container", lambda svc: pytest.fail("no container for a named URL"))
    assert services.resolve("redis") is None
    assert "CHRONEX_TEST_REDIS_URL" in services.skip_reason("redis")
    assert url in services.skip_reason("redis")


def test_a_named_url_that_answers_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        url = f"nats://127.0.0.1:{srv.getsockname()[1]}"
        monkeypatch.setenv("CHRONEX_TEST_NATS_URL", url)
        assert services.resolve("nats") == url


def test_with_no_local_server_a_container_is_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No URL set and nothing on the default port: testcontainers is asked, once per process."""
    monkeypatch.delenv("CHRONEX_TEST_POSTGRES_URL", raising=False)
    svc = services.SERVICES["postgres"]
    dead = services.Service(svc.name, svc.env, f"postgresql://postgres@127.0.0.1:{_dead_port()}/test",
                            svc.port, svc.image, svc.container_env, url_of=svc.url_of)  # fmt: skip
    monkeypatch.setitem(services.SERVICES, "postgres", dead)
    started: list[str] = []

    def fake_container(s: services.Service) -> str:
        started.append(s.image)
        return s.url_of("10.0.0.9", 32768)

    monkeypatch.setattr(services, "_container", fake_container)
    monkeypatch.setattr(services, "_engine", [True])
    assert services.resolve("postgres") == "postgresql://postgres@10.0.0.9:32768/test"
    assert services.resolve("postgres") == "postgresql://postgres@10.0.0.9:32768/test"
    assert started == ["postgres:16-alpine"]


def test_without_docker_the_skip_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONEX_TEST_NO_CONTAINERS", "1")
    monkeypatch.setenv("CHRONEX_TEST_REDIS_URL", f"redis://127.0.0.1:{_dead_port()}/0")
    assert services.resolve("redis") is None
    assert "no Docker engine answers" in services.skip_reason("redis")
