"""``open_log``: every URL scheme, the files and schemas that are not logs, unreachable servers, and
a PostgreSQL writer that loses its session."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from system.clock import FixedClock
from system.eventlog import EventLogError, NotAnEventLog, UnsupportedLogURL, open_log, verify
from tests.integration.store.kit import tick


# -- opening ------------------------------------------------------------------------------------
def test_open_log_unknown_scheme() -> None:
    """An unknown URL scheme is a clear error naming the scheme."""
    with pytest.raises(UnsupportedLogURL, match="'ftp'"):
        open_log("ftp://host/log", FixedClock())


@pytest.mark.parametrize("url", ["nats://127.0.0.1:4222"])
def test_open_log_planned_backend(url: str) -> None:
    """A planned backend's URL says it is not available yet."""
    with pytest.raises(UnsupportedLogURL, match="not available"):
        open_log(url, FixedClock())


def test_open_log_text_file(tmp_path: Path) -> None:
    """A text file is not a log, and opening it leaves it unchanged."""
    p = tmp_path / "notes.txt"
    p.write_text("hello, this is not a database\n" * 50)
    with pytest.raises(NotAnEventLog):
        open_log(p, FixedClock())
    assert p.read_text() == "hello, this is not a database\n" * 50


def test_open_log_foreign_sqlite_file(tmp_path: Path) -> None:
    """An SQLite file without a Chronex log is refused and not modified."""
    p = tmp_path / "other.db"
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = p.read_bytes()
    with pytest.raises(NotAnEventLog, match="without a Chronex event log"):
        open_log(p, FixedClock())
    assert p.read_bytes() == before


def test_open_log_missing_file_without_create(tmp_path: Path) -> None:
    """create=False on a missing file is an error and creates nothing."""
    p = tmp_path / "missing.db"
    with pytest.raises(NotAnEventLog, match="no such file"):
        open_log(p, FixedClock(), create=False)
    assert not p.exists()


def test_open_log_sqlite_url(tmp_path: Path) -> None:
    """sqlite:///relative and sqlite:////absolute both name a file; reopening reads it back."""
    p = tmp_path / "u.db"
    s = open_log(f"sqlite:///{p}", FixedClock())
    s.append([tick()])
    s.close()
    with open_log(p, FixedClock(), create=False) as again:
        assert again.head().seq == 1


def test_open_log_postgres_missing_schema_without_create(pg_log_url: Callable[[], str]) -> None:
    """create=False on a schema with no log is an error naming the schema, and creates nothing."""
    url = pg_log_url()
    with pytest.raises(NotAnEventLog, match="no Chronex event log in schema"):
        open_log(url, FixedClock(), create=False)
    with pytest.raises(NotAnEventLog):
        open_log(url, FixedClock(), create=False)


def test_open_log_postgres_foreign_schema(pg_log_url: Callable[[], str]) -> None:
    """A schema holding someone else's tables is refused and left as it was."""
    import psycopg

    from system.eventlog.postgres import split_url

    url = pg_log_url()
    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
        db.execute(f"CREATE TABLE {schema}.t (x int)")
    with pytest.raises(NotAnEventLog, match="holds tables but no Chronex event log"):
        open_log(url, FixedClock())
    with psycopg.connect(conninfo) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    assert tables == [("t",)]


def test_open_log_postgres_unreachable_and_bad_schema() -> None:
    """A server that does not answer, or a schema that is not a plain name, is one clear error
    that never shows the password."""
    with pytest.raises(EventLogError, match="cannot connect to PostgreSQL") as err:
        open_log("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=1", FixedClock())
    assert "secret" not in str(err.value)
    with pytest.raises(NotAnEventLog, match="not a plain SQL name"):
        open_log("postgresql://127.0.0.1/db?schema=a;drop", FixedClock())
    # a placeholder left in a URL copied from the docs: psycopg's resolver raises UnicodeError
    with pytest.raises(EventLogError, match="not a valid host name"):
        open_log("postgresql://u:secret@.../db?schema=a", FixedClock())


def test_postgres_writer_survives_losing_its_session(pg_log_url: Callable[[], str]) -> None:
    """When the server ends the writer's session the next append fails cleanly and the one after
    reconnects, takes the writer lock again and continues the chain without a gap."""
    import psycopg

    from system.eventlog.postgres import split_url

    url = pg_log_url()
    with open_log(url, FixedClock(1)) as s:
        s.append([tick("A")])
        with psycopg.connect(split_url(url)[0], autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (f"chronex writer pid {os.getpid()} on {__import__('socket').gethostname()}"[:63],),
            )
        with pytest.raises(EventLogError, match="nothing of it was written"):
            s.append([tick("B")])
        assert s.append([tick("C")])[0].seq == 2
        assert [e.record.account for e in s.read()] == ["A", "C"]  # type: ignore[attr-defined]
        assert verify(s).ok
