"""Fixtures for tests that need a real service. PostgreSQL: CHRONEX_TEST_POSTGRES_URL, the local
server at postgresql://postgres@127.0.0.1:5432/test when it answers, or a testcontainers container
where a Docker engine runs (tests/services.py); otherwise those tests skip saying which URL to
provide."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.services import SERVICES, resolve, skip_reason

DEFAULT_POSTGRES_URL = SERVICES["postgres"].default
_reachable: dict[str, str | None] = {}


def postgres_base_url() -> str | None:
    """The test server's URL: CHRONEX_TEST_POSTGRES_URL, the local server, or a container
    (tests/services.py); None when none answers a real connection."""
    url = resolve("postgres")
    if url is None:
        return None
    if url not in _reachable:
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=2):
                _reachable[url] = url
        except Exception:
            _reachable[url] = None
    return _reachable[url]


def skip_without_postgres() -> str:
    url = postgres_base_url()
    if url is None:
        pytest.skip(skip_reason("postgres"))
    return url


def unique_schema(prefix: str = "t") -> str:
    # Unique across xdist workers and other people's runs against the same server.
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg_log_url() -> Iterator[Callable[[], str]]:
    """A factory of fresh PostgreSQL log URLs (one schema each), dropped after the test."""
    base = skip_without_postgres()
    made: list[str] = []

    def make() -> str:
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}schema={unique_schema()}"
        made.append(url)
        return url

    yield make
    import psycopg
    from psycopg import sql

    from system.eventlog.postgres import split_url

    with psycopg.connect(base, autocommit=True) as db:
        for url in made:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(split_url(url)[1])))
