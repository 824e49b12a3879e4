"""Hypothesis-fuzzed application messages against the FIX mocks (the exchange and the OEMS) over
live sessions: whatever arrives, no mock's application fails (no BusinessMessageReject 380=0
"application error"), the session stays logged on, and each message is answered in order (a
TestRequest sent after it comes back). Profiles and fault schedules are fuzzed too: a bad one is a
``MockError`` naming a field, never another exception."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.base import MockContext, MockError
from mocks.exchange import DEFAULT_PROFILE as EXCHANGE_PROFILE
from mocks.exchange import ExchangeMock
from mocks.faults import parse_schedule
from mocks.makers import DEFAULT_PROFILE as MAKERS_PROFILE
from mocks.makers import MakersMock
from mocks.oems import DEFAULT_PROFILE as OEMS_PROFILE
from mocks.oems import OemsMock
from mocks.oems.mock import custom_dictionary
from mocks.profile import read_toml
from mocks.testkit import FixClient, ServedVenue, dial
from sim.clock import VirtualClock
from sim.markets import load_profile

T0 = 1_925_424_000 * 10**9
SESSIONS = Path(__file__).resolve().parents[2] / "mocks" / "serve-sessions.toml"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
R = TypeVar("R")

APP_TYPES = ["D", "F", "G", "H", "q", "B", "8", "V", "R", "AE", "x", "ZZ"]
TAGS = [
    1,
    11,
    37,
    38,
    40,
    41,
    44,
    54,
    55,
    58,
    59,
    60,
    99,
    111,
    126,
    18,
    207,
    526,
    530,
    7928,
    5001,
    5003,
    9999,
]
values = st.one_of(
    st.sampled_from(["1", "2", "0", "-1", "100", "0.5", "1e9", "N", "Y", "X", "CRYPTO:BTCUSD", "XTKS:7203",
                     "HEDGE", "FUND1", "20310106-00:00:00", "99999999999999999999", ""]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
)  # fmt: skip
fields = st.lists(st.tuples(st.sampled_from(TAGS), values), max_size=10)


class Harness:
    """The mocks on a loop in a thread, logged-on clients, and everything the mocks wrote."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.out: dict[str, bytearray] = {}
        self.ids = itertools.count(1)

    def run(self, coro: Coroutine[Any, Any, R], timeout: float = 60) -> R:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def record(self, mock: str, link: str, direction: str, payload: bytes) -> None:
        if direction == "out":
            self.out.setdefault(f"{mock}:{link}", bytearray()).extend(payload)

    async def start(self) -> None:
        clock = VirtualClock(T0)
        self.venue = ServedVenue(load_profile("XTKS").select(["7203"]).instruments, SESSIONS, start_ns=T0)
        await self.venue.start()
        self.exchange = ExchangeMock(
            MockContext(profile=read_toml(EXCHANGE_PROFILE, "p"), clock=clock, record=self.record)
        )
        await self.exchange.start()
        self.oems = OemsMock(
            MockContext(profile=read_toml(OEMS_PROFILE, "p"), clock=self.venue.clock, record=self.record,
                        targets={"serve": self.venue.fix})
        )  # fmt: skip
        await self.oems.start()
        await asyncio.wait_for(self.oems.routed.wait(), 30)
        self.ex_client, self.oems_client = FixClient(), FixClient()
        self.ex_session, self.ex_ini = await dial(self.exchange.endpoints()["fix"], "HEDGER", "EXCH",
                                                  self.ex_client, clock)  # fmt: skip
        self.oems_session, self.oems_ini = await dial(
            self.oems.endpoints()["fix"], "PM1", "TORA", self.oems_client, clock,
            dictionary=custom_dictionary(self.oems.tags),
        )  # fmt: skip

    async def stop(self) -> None:
        await self.ex_ini.stop()
        await self.oems_ini.stop()
        await self.oems.stop()
        await self.exchange.stop()
        await self.venue.stop()

    async def send_and_sync(self, session: Any, key: str, msg_type: str, body: list[tuple[int, str]]) -> None:
        """Send the fuzzed message, then a TestRequest, and wait for its Heartbeat."""
        session.send(msg_type, body)
        probe = f"probe-{next(self.ids)}"
        session.send("1", [(112, probe)])
        want = f"\x01112={probe}\x01".encode()
        for _ in range(3000):
            if want in self.out.get(key, b""):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"no answer to {msg_type} {body!r}")


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    h = Harness()
    h.run(h.start())
    yield h
    h.run(h.stop())
    h.loop.call_soon_threadsafe(h.loop.stop)
    h.thread.join(10)
    h.loop.close()


def check(h: Harness, key: str, session: Any) -> None:
    assert session.logged_on, "the mock logged the session out"
    assert b"application error" not in h.out.get(key, b""), bytes(h.out[key][-400:])


@FUZZ
@given(msg_type=st.sampled_from(APP_TYPES), body=fields)
def test_the_exchange_answers_any_application_message_without_failing(
    harness: Harness, msg_type: str, body: list[tuple[int, str]]
) -> None:
    """Random application messages to the exchange: answered in order, no application error."""
    harness.run(harness.send_and_sync(harness.ex_session, "exchange:fix/1", msg_type, body))
    check(harness, "exchange:fix/1", harness.ex_session)


@FUZZ
@given(msg_type=st.sampled_from(APP_TYPES), body=fields)
def test_the_oems_answers_any_application_message_without_failing(
    harness: Harness, msg_type: str, body: list[tuple[int, str]]
) -> None:
    """Random application messages to the OEMS: answered in order, no application error."""
    harness.run(harness.send_and_sync(harness.oems_session, "oems:client/1", msg_type, body))
    check(harness, "oems:client/1", harness.oems_session)


toml_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=False), st.text(max_size=8)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
).filter(lambda v: v is not None)
KEYS = ["exchange", "fix", "itch", "liquidity", "makers", "maker", "oems", "tag", "venue", "session",
        "levels", "lots", "kind", "from", "until", "client", "accounts", "half_spread_ticks",
        "target_comp_id"]  # fmt: skip
tables = st.dictionaries(st.sampled_from(KEYS), toml_values, max_size=4)


@FUZZ
@given(raw=tables)
def test_a_fuzzed_profile_is_accepted_or_refused_with_a_mock_error(raw: dict[str, Any]) -> None:
    """Building any mock from a random profile either works or raises MockError."""
    clock = VirtualClock(T0)
    for build in (ExchangeMock, MakersMock, OemsMock):
        with contextlib.suppress(MockError):
            build(MockContext(profile=raw, clock=clock, targets={"serve": "127.0.0.1:1"}))


@FUZZ
@given(raw=tables)
def test_a_fuzzed_fault_schedule_is_accepted_or_refused_with_a_mock_error(raw: dict[str, Any]) -> None:
    """Any [[fault]] table list either parses or raises MockError."""
    with contextlib.suppress(MockError):
        parse_schedule({"fault": [raw]}, VirtualClock(T0))


def test_the_shipped_profiles_build() -> None:
    """Each default profile builds its mock (the fuzz above would pass if nothing ever did)."""
    clock = VirtualClock(T0)
    for build, path in (
        (ExchangeMock, EXCHANGE_PROFILE),
        (MakersMock, MAKERS_PROFILE),
        (OemsMock, OEMS_PROFILE),
    ):
        build(MockContext(profile=read_toml(path, "p"), clock=clock, targets={"serve": "127.0.0.1:1"}))
