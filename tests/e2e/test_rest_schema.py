"""schemathesis against a real ``chronex serve --rest-port``: every operation of the OpenAPI
document on a bounded number of generated requests (valid and invalid), as qa-admin and as a
trader. Zero server errors, every response's status, content type and body match the document.
The SSE operations stream until the client leaves, so they are left to test_rest_streams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from system.server.process import ServeProcess

KEYS = """
[[key]]
key = "k-admin"
name = "qa"
role = "qa-admin"

[[key]]
key = "k-trader"
name = "alice"
role = "trader"
accounts = ["ACC1"]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    d: Path = tmp_path_factory.mktemp("rest")
    (d / "keys.toml").write_text(KEYS)
    proc = ServeProcess(
        [
            "--venue", "XTKS", "--instruments", "7203,6758", "--no-calendar",
            "--start", "2031-01-06T09:00+09:00", "--rest-port", "0", "--api-keys", str(d / "keys.toml"),
        ]
    )  # fmt: skip
    yield proc
    proc.terminate()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(served: ServeProcess, key: str, examples: int) -> int:
    """Every operation on ``examples`` generated cases (hypothesis, through schemathesis)."""
    url = f"http://127.0.0.1:{served.info['rest_port']}/openapi.json"
    schema = schemathesis.openapi.from_url(url).exclude(path_regex="/sse$")
    ran = 0
    for found in schema.get_all_operations():
        op = found.ok()

        @given(case=op.as_strategy())
        @settings(
            max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS, timeout=30)

        check()
        ran += 1
    return ran


def test_every_operation_as_qa_admin(served: ServeProcess) -> None:
    assert _fuzz(served, "k-admin", 6) >= 25


def test_every_operation_as_a_trader(served: ServeProcess) -> None:
    assert _fuzz(served, "k-trader", 3) >= 25
