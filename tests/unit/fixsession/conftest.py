"""Fixtures of the FIX session test cases: a world, and one whose peer is logged on."""

from __future__ import annotations

import pytest

from tests.unit.fixsession.kit import LOGON_REPLY, World, ss


@pytest.fixture
def w() -> World:
    return World()


@pytest.fixture
def on(w: World) -> World:
    """A world whose peer is logged on with HeartBtInt 30."""
    assert ss(w.peer.logon()) == [LOGON_REPLY]
    return w
