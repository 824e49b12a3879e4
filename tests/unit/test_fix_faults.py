"""Fault injection in the FIX transport: drop, delay, duplicate, garble and disconnect, chosen by
message number or by an instant of the (virtual) server clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from system.clock import NS_PER_SECOND, FixedClock, from_datetime
from system.gateways.fix import FixAcceptor, store_factory
from system.gateways.fix.acceptance import AcceptanceApplication, acceptance_sessions
from system.gateways.fix.faults import Fault, FaultConfigError, FaultPlan, load_faults
from system.gateways.fix.testkit import Peer

T0 = from_datetime(datetime(2031, 1, 6, tzinfo=UTC))


def world(*faults: Fault) -> tuple[Peer, FaultPlan, FixedClock]:
    clock = FixedClock(T0)
    plan = FaultPlan(faults, clock)
    acceptor = FixAcceptor(
        acceptance_sessions(),
        AcceptanceApplication(),
        clock,
        store_factory("memory:"),
        timer_clock=FixedClock(0),
        faults=plan,
    )
    peer = Peer(acceptor, clock=clock)
    peer.logon()
    return peer, plan, clock


def types(msgs: list) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(m.msg_type, int(m.get(34))) for m in msgs]


ORDER = [(11, "ID"), (21, 3), (40, 1), (54, 1), (55, "INTC"), (60, "20310106-00:00:00")]


def test_dropped_outbound_message_is_recovered_by_resend_request() -> None:
    """A message lost on the way out is still in the store: the peer's ResendRequest gets it."""
    peer, plan, _ = world(Fault("drop", "out", msg_type="D"))
    assert peer.send("D", ORDER) == []
    assert types(peer.send("1", [(112, "b")])) == [("0", 3)]
    [resent] = peer.send("2", [(7, 2), (16, 2)])
    assert (resent.msg_type, resent.get(34), resent.get(43), resent.get(11)) == ("D", b"2", b"Y", b"ID")
    assert plan.fired == ["drop out ISLD->TW44 seq 2 type D"]


def test_dropped_inbound_message_makes_the_acceptor_ask_for_it() -> None:
    """A message lost on the way in leaves a gap: the next one triggers a ResendRequest."""
    peer, _, _ = world(Fault("drop", "in", msg_seq=2))
    assert peer.send("0") == []
    [rr] = peer.send("0")
    assert (rr.msg_type, rr.get(7), rr.get(16)) == ("2", b"2", b"0")


def test_garbled_outbound_message_fails_the_peers_checksum() -> None:
    peer, _, _ = world(Fault("garble", "out", msg_type="0"))
    assert peer.send("1", [(112, "g")]) == []
    assert [g.reason for g in peer.garbled] == ["CheckSum does not match"]


def test_garbled_inbound_message_is_ignored_like_any_garbled_message() -> None:
    peer, _, _ = world(Fault("garble", "in", msg_seq=2))
    assert peer.send("1", [(112, "x")]) == []
    assert not peer.closed
    assert types(peer.send("1", [(112, "y")], seq=2)) == [("0", 2)]


def test_duplicated_inbound_message_arrives_flagged_possdup_and_is_ignored() -> None:
    """The copy of a duplicated message carries PossDup and OrigSendingTime, as a retransmission
    would: the session answers the original once, ignores the copy and stays logged on."""
    peer, _, _ = world(Fault("duplicate", "in", msg_seq=2))
    out = peer.send("1", [(112, "d")])
    assert types(out) == [("0", 2)]
    assert not peer.closed
    session = peer.acceptor.sessions[("ISLD", "TW44")]
    assert session.duplicates_ignored == 1 and session.store.next_target_seq == 3


def test_duplicated_outbound_message_arrives_twice_the_copy_flagged_possdup() -> None:
    """Both copies reach the peer with one MsgSeqNum; the second has 43=Y and 122 = the
    original's SendingTime, and frames with a correct BodyLength and CheckSum."""
    peer, _, _ = world(Fault("duplicate", "out", msg_seq=2))
    first, copy = peer.send("1", [(112, "d")])
    assert types([first, copy]) == [("0", 2), ("0", 2)]
    assert first.get(43) is None and copy.get(43) == b"Y"
    assert copy.get(122) == first.get(52) and copy.get(112) == b"d"
    assert peer.garbled == []


def test_a_delay_holds_what_follows_it_in_order() -> None:
    """A link is a stream: messages after a delayed one wait behind it and arrive in order, so
    the receiver sees no gap and no reordering."""
    peer, _, clock = world(Fault("delay", "out", msg_seq=2, delay_ns=NS_PER_SECOND))
    assert peer.send("1", [(112, "first")]) == []
    assert peer.send("1", [(112, "second")]) == []
    assert peer.acceptor.faults is not None and peer.acceptor.faults.held() == 2
    clock.t += NS_PER_SECOND
    assert [m.get(112) for m in peer.tick()] == [b"first", b"second"]
    assert peer.acceptor.faults.held() == 0


def test_armed_timed_faults_fire_as_timers_of_the_virtual_clock() -> None:
    """With the server's virtual clock as timers, a release and a timed disconnect fire while the
    clock moves, at their instants and in order with its other timers."""
    from sim.clock.virtual import VirtualClock

    vc = VirtualClock(T0)
    at = T0 + 5 * NS_PER_SECOND
    plan = FaultPlan(
        [Fault("delay", "in", msg_seq=2, delay_ns=NS_PER_SECOND), Fault("disconnect", at_ns=at)], vc
    )
    acceptor = FixAcceptor(
        acceptance_sessions(), AcceptanceApplication(), vc, store_factory("memory:"),
        timer_clock=FixedClock(0), timers=lambda: vc,
    )  # fmt: skip
    acceptor.install_faults(plan)
    peer = Peer(acceptor, clock=vc)
    peer.logon()
    order: list[str] = []
    vc.call_at(T0 + 2 * NS_PER_SECOND, lambda: order.append(f"timer, held {plan.held()}"))
    vc.call_at(at + 1, lambda: order.append(f"timer, closed {peer.closed}"))
    assert peer.send("1", [(112, "late")]) == []
    vc.run_until(at + 10)
    assert order == ["timer, held 0", "timer, closed True"]
    assert [m.get(112) for m in peer.received()] == [b"late"]
    assert plan.fired[-1] == f"disconnect ISLD->TW44 at {at}"


def test_delay_holds_a_message_until_the_virtual_clock_passes_it() -> None:
    """A delay is measured on the server clock: nothing moves until the scenario advances time."""
    peer, _, clock = world(Fault("delay", "out", msg_seq=2, delay_ns=3 * NS_PER_SECOND))
    assert peer.send("1", [(112, "later")]) == []
    clock.t += 2 * NS_PER_SECOND
    assert peer.tick() == []
    clock.t += NS_PER_SECOND
    assert [m.get(112) for m in peer.tick()] == [b"later"]


def test_delayed_inbound_message_is_processed_when_released() -> None:
    peer, _, clock = world(Fault("delay", "in", msg_seq=2, delay_ns=NS_PER_SECOND))
    assert peer.send("1", [(112, "in")]) == []
    clock.t += NS_PER_SECOND
    assert [m.get(112) for m in peer.tick()] == [b"in"]


def test_disconnect_at_a_message_number() -> None:
    peer, _, _ = world(Fault("disconnect", "in", msg_seq=3))
    peer.send("0")
    assert not peer.closed
    peer.send("0")
    assert peer.closed


def test_disconnect_at_a_virtual_instant() -> None:
    """A timed disconnect fires when the clock reaches the instant, whatever the traffic."""
    at = T0 + 60 * NS_PER_SECOND
    peer, plan, clock = world(Fault("disconnect", at_ns=at))
    clock.t = at - 1
    peer.tick()
    assert not peer.closed
    clock.t = at
    peer.tick()
    assert peer.closed
    assert plan.fired == [f"disconnect ISLD->TW44 at {at}"]


def test_fault_not_before_an_instant_and_count() -> None:
    """``at`` makes a message fault wait for its instant; ``count`` limits how many it hits."""
    peer, _, clock = world(Fault("drop", "out", msg_type="0", at_ns=T0 + NS_PER_SECOND, count=2))
    assert len(peer.send("1", [(112, "1")])) == 1
    clock.t += NS_PER_SECOND
    assert peer.send("1", [(112, "2")]) == []
    assert peer.send("1", [(112, "3")]) == []
    assert len(peer.send("1", [(112, "4")])) == 1


def test_faults_load_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(
        '[[fault]]\naction = "delay"\ndirection = "in"\nmsg_seq = 5\ndelay_ms = 1500\n'
        '[[fault]]\naction = "disconnect"\nat = "2031-01-06T09:00:00+09:00"\n'
    )
    plan = load_faults(path, FixedClock(0))
    assert plan.faults == (
        Fault("delay", "in", msg_seq=5, delay_ns=1_500_000_000),
        Fault("disconnect", at_ns=T0),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[fault]]\naction = "explode"\n', "fault[0]: action 'explode' is not one of"),
        ('[[fault]]\naction = "drop"\nmsg_seq = "5"\n', "fault[0].msg_seq: '5' is not an integer"),
        ('[[fault]]\naction = "delay"\n', "fault[0]: a delay fault needs delay_ms > 0"),
        ('[[fault]]\naction = "drop"\nat = "tomorrow"\n', "fault[0].at: 'tomorrow' is not an instant"),
        ('[[fault]]\naction = "drop"\nwhen = 1\n', "fault[0].when: unknown key"),
    ],
)
def test_bad_fault_files_name_the_key_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "faults.toml"
    path.write_text(text)
    with pytest.raises(FaultConfigError) as e:
        load_faults(path, FixedClock(0))
    assert str(e.value).startswith(f"{path}: ")
    assert message in str(e.value)
