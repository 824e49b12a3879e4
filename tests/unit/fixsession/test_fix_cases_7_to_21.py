"""The FIX 4.4 session-level test cases 7 to 21 (rejects, resends, sequence resets, logout, messages
with errors and the rest), one or more tests each, against the acceptor
with the acceptance-profile application, driven by hand on fixed clocks (no sockets, no sleeps).

Expected messages are written as ``tag=value|...`` without BeginString, BodyLength, SendingTime,
OrigSendingTime and CheckSum (those are checked by the codec tests)."""

from __future__ import annotations

import pytest

from system.clock import NS_PER_SECOND, FixedClock
from system.gateways.fix import SessionsConfig, SessionSettings
from system.gateways.fix.codec import encode_fields, frame, parse_timestamp
from tests.unit.fixsession.kit import ECHO, ORDER, T0, World, ss


# -- 7 and 8: reject and resend --------------------------------------------------------------------------
def test_7_received_reject_is_counted(on: World) -> None:
    """7: a session Reject from the peer increments the expected MsgSeqNum and changes nothing else."""
    assert on.peer.send("3", [(45, 1)]) == []
    assert ss(on.peer.send("5")) == ["35=5|34=2|49=ISLD|56=TW44"]


def test_8_resend_request_replays_application_messages_and_gap_fills_admin(on: World) -> None:
    """8: a ResendRequest gets app messages again (PossDup, OrigSendingTime) and GapFills for admin."""
    on.peer.send("D", ORDER)  # echo 2
    on.peer.send("1", [(112, "h")])  # heartbeat 3 (admin)
    on.peer.send("D", [(11, "ID2"), *ORDER[1:]])  # echo 4
    out = on.peer.send("2", [(7, 1), (16, 0)])
    assert ss(out) == [
        "35=4|34=1|43=Y|49=ISLD|56=TW44|36=2|123=Y",
        f"35=D|34=2|43=Y|49=ISLD|56=TW44|{ECHO}",
        "35=4|34=3|43=Y|49=ISLD|56=TW44|36=4|123=Y",
        f"35=D|34=4|43=Y|49=ISLD|56=TW44|11=ID2|{ECHO[6:]}",
    ]
    assert all(m.get(122) is not None for m in out)
    assert ss(on.peer.send("1", [(112, "after")])) == ["35=0|34=5|49=ISLD|56=TW44|112=after"]


def test_8_resend_keeps_the_original_sending_time(on: World) -> None:
    """8: OrigSendingTime of a resent message is its first SendingTime; SendingTime is now."""
    [first] = on.peer.send("D", ORDER)
    on.clock.t += 5 * NS_PER_SECOND
    out = on.peer.send("2", [(7, 2), (16, 2)])
    assert out[0].get(122) == first.get(52)
    assert parse_timestamp(out[0].get(52) or b"") == on.clock.t


# -- 9 to 11: sequence resets ------------------------------------------------------------------------------
def test_9_we_can_reset_our_outbound_sequence(on: World) -> None:
    """9: an operator's SequenceReset-Reset moves our outbound MsgSeqNum forward."""
    session = on.acceptor.session("ISLD", "TW44")
    session.reset_outbound(10)
    assert ss(on.peer.received()) == ["35=4|34=2|49=ISLD|56=TW44|36=10|123=N"]
    assert ss(on.peer.send("1", [(112, "x")])) == ["35=0|34=10|49=ISLD|56=TW44|112=x"]


def test_10_gap_fill_with_expected_seqnum_moves_the_expected_number(on: World) -> None:
    """10: GapFill with MsgSeqNum = expected: the next expected becomes NewSeqNo."""
    assert on.peer.send("4", [(36, 20), (123, "Y")]) == []
    assert ss(on.peer.send("1", [(112, "H")], seq=20)) == ["35=0|34=2|49=ISLD|56=TW44|112=H"]


def test_10_gap_fill_with_seqnum_too_high_requests_resend(on: World) -> None:
    """10: GapFill with MsgSeqNum above expected is a gap like any other: ResendRequest."""
    out = on.peer.send("4", [(36, 20), (123, "Y")], seq=10)
    assert ss(out) == ["35=2|34=2|49=ISLD|56=TW44|7=2|16=0"]


def test_10_gap_fill_with_seqnum_too_low(on: World) -> None:
    """10: GapFill below expected: ignored with PossDup, Logout without."""
    on.peer.send("0")
    assert (
        on.peer.send("4", [(36, 20), (123, "Y")], seq=1, header=[(43, "Y"), (122, b"20310106-00:00:00")])
        == []
    )
    out = on.peer.send("4", [(36, 20), (123, "Y")], seq=1)
    assert ss(out) == ["35=5|34=2|49=ISLD|56=TW44|58=MsgSeqNum too low, expecting 3 but received 1"]
    assert on.peer.closed


def test_11a_reset_to_a_higher_number_is_accepted(on: World) -> None:
    """11a: SequenceReset-Reset ignores its own MsgSeqNum and sets the expected one to NewSeqNo."""
    assert on.peer.send("4", [(36, 25)], seq=0) == []
    assert ss(on.peer.send("1", [(112, "H")], seq=25)) == ["35=0|34=2|49=ISLD|56=TW44|112=H"]


def test_11b_reset_to_the_expected_number_changes_nothing(on: World) -> None:
    """11b: NewSeqNo equal to the expected MsgSeqNum: accepted, nothing moves."""
    assert on.peer.send("4", [(36, 2), (123, "N")], seq=0) == []
    assert ss(on.peer.send("1", [(112, "H")], seq=2)) == ["35=0|34=2|49=ISLD|56=TW44|112=H"]


def test_11c_reset_to_a_lower_number_is_rejected(on: World) -> None:
    """11c: NewSeqNo below the expected MsgSeqNum: Reject 373=5, numbers unchanged."""
    out = on.peer.send("4", [(36, 1)], seq=0)
    assert ss(out) == [
        "35=3|34=2|49=ISLD|56=TW44|45=0|58=Value is incorrect (out of range) for this tag|372=4|373=5"
    ]
    assert ss(on.peer.send("1", [(112, "H")], seq=2)) == ["35=0|34=3|49=ISLD|56=TW44|112=H"]


# -- 12 and 13: logout -------------------------------------------------------------------------------------
def test_12_initiated_logout_waits_for_the_reply_then_disconnects(on: World) -> None:
    """12: our Logout is answered by the peer's; then we disconnect."""
    on.acceptor.session("ISLD", "TW44").logout("bye")
    assert ss(on.peer.received()) == ["35=5|34=2|49=ISLD|56=TW44|58=bye"]
    assert not on.peer.closed
    on.peer.send("5")
    assert on.peer.closed


def test_12_initiated_logout_without_reply_times_out(on: World) -> None:
    """12: no Logout reply within the logout timeout: we disconnect anyway."""
    on.acceptor.session("ISLD", "TW44").logout()
    on.wait(1.9)
    assert not on.peer.closed
    on.wait(0.2)
    assert on.peer.closed


def test_13b_unsolicited_logout_is_answered_then_disconnected(on: World) -> None:
    """13b: a Logout from the peer gets our Logout, then the connection closes."""
    assert ss(on.peer.send("5")) == ["35=5|34=2|49=ISLD|56=TW44"]
    assert on.peer.closed


# -- 14: messages with errors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("msg_type", "body", "expected"),
    [
        ("0", [(999, "HI")], "58=Invalid tag number|371=999|372=0|373=0"),  # 14a
        ("0", [(5000, "HI")], "58=Invalid tag number|371=5000|372=0|373=0"),  # 14a
        ("0", [(55, "MSFT")], "58=Tag not defined for this message type|371=55|372=0|373=2"),  # 14c
        (
            "D",
            [(11, "ID"), (21, 4), (40, 1), (54, 1), (60, "20310106-00:00:00")],
            "58=Value is incorrect (out of range) for this tag|371=21|372=D|373=5",
        ),  # 14e
        ("D", [*ORDER, (38, "+200.00")], "58=Incorrect data format for value|371=38|372=D|373=6"),  # 14f
        (
            "D",
            [(11, "ID"), (21, 1), (40, 1), (40, 2), (54, 1), (60, "20310106-00:00:00")],
            "58=Tag appears more than once|371=40|372=D|373=13",
        ),  # 14h
        (
            "D",
            [*ORDER, (386, 3), (336, "PRE-OPEN"), (336, "AFTER-HOURS")],
            "58=Incorrect NumInGroup count for repeating group|371=386|372=D|373=16",
        ),  # 14i
        (
            "D",
            [(21, 3), (40, 1), (54, 1), (60, "20310106-00:00:00")],
            "58=Required tag missing|371=11|372=D|373=1",
        ),  # 14b
    ],
)
def test_14_bad_fields_get_a_session_reject_and_count(
    on: World, msg_type: str, body: list[tuple[int, str | int]], expected: str
) -> None:
    """14a-i: a message with a field error is rejected with its SessionRejectReason and counted."""
    out = on.peer.send(msg_type, body)
    assert ss(out) == [f"35=3|34=2|49=ISLD|56=TW44|45=2|{expected}"]
    assert ss(on.peer.send("1", [(112, "n")])) == ["35=0|34=3|49=ISLD|56=TW44|112=n"]


def test_14b_missing_header_tag_is_rejected(on: World) -> None:
    """14b: TargetCompID missing from the header: Reject naming 56."""
    payload = encode_fields([(35, "0"), (34, 2), (49, "TW44"), (52, "20310106-00:00:00")])
    out = on.peer.send_raw(frame(b"FIX.4.4", payload))
    assert ss(out) == ["35=3|34=2|49=ISLD|56=TW44|45=2|58=Required tag missing|371=56|372=0|373=1"]


def test_14d_tag_without_value_is_rejected(on: World) -> None:
    """14d: a tag with an empty value: Reject 373=4."""
    out = on.peer.send_raw(on.peer.build("0", target=""))
    assert ss(out) == ["35=3|34=2|49=ISLD|56=TW44|45=2|58=Tag specified without a value|371=56|372=0|373=4"]


def test_14g_header_field_after_body_is_rejected(on: World) -> None:
    """14g: a header field after a body field: Reject 373=14 naming the first one out of place."""
    payload = encode_fields(
        [
            (35, "D"),
            (55, "MSFT"),
            (34, 2),
            (49, "TW44"),
            (52, "20310106-00:00:00"),
            (56, "ISLD"),
            (11, "id"),
            (21, 3),
            (40, 1),
            (54, 1),
            (60, "20310106-00:00:00"),
        ]
    )
    out = on.peer.send_raw(frame(b"FIX.4.4", payload))
    assert ss(out) == [
        "35=3|34=2|49=ISLD|56=TW44|45=2|58=Tag specified out of required order|371=34|372=D|373=14"
    ]


# -- 15 to 21 ---------------------------------------------------------------------------------------------
def test_15_fields_in_a_different_order_are_accepted(on: World) -> None:
    """15: header and body fields in another order (the first three aside) are accepted."""
    payload = encode_fields(
        [
            (35, "D"),
            (49, "TW44"),
            (34, 2),
            (56, "ISLD"),
            (52, "20310106-00:00:00"),
            (40, 1),
            (55, "INTC"),
            (60, "20310106-00:00:00"),
            (54, 1),
            (21, 3),
            (11, "ID"),
        ]
    )
    assert ss(on.peer.send_raw(frame(b"FIX.4.4", payload))) == [f"35=D|34=2|49=ISLD|56=TW44|{ECHO}"]


def test_16_messages_sent_while_disconnected_are_delivered_by_resend(tmp_path: object) -> None:
    """16: messages queued while the peer is away reach it through its ResendRequest at reconnect."""
    cfg = SessionsConfig((SessionSettings("ISLD", "TW44"),))
    w = World(cfg)
    w.peer.logon()
    w.peer.send("5")
    session = w.acceptor.session("ISLD", "TW44")
    assert session.send("D", ORDER) == 3  # stored while disconnected
    w.peer.next_seq = 3
    w.peer.connect()
    out = w.peer.send("A", [(98, 0), (108, 30)])
    assert ss(out) == ["35=A|34=4|49=ISLD|56=TW44|98=0|108=30"]
    out = w.peer.send("2", [(7, 1), (16, 0)])
    assert ss(out) == [
        "35=4|34=1|43=Y|49=ISLD|56=TW44|36=3|123=Y",
        f"35=D|34=3|43=Y|49=ISLD|56=TW44|{ECHO}",
        "35=4|34=4|43=Y|49=ISLD|56=TW44|36=5|123=Y",
    ]


def test_17_encryption_is_refused(w: World) -> None:
    """17: encryption is not supported: a Logon asking for it is answered with Logout."""
    w.peer.connect()
    out = w.peer.send("A", [(98, 1), (108, 30)])
    assert ss(out) == ["35=5|34=1|49=ISLD|56=TW44|58=EncryptMethod 1 is not supported"]
    assert w.peer.closed


def test_18_reject_goes_back_along_the_third_party_route(on: World) -> None:
    """18: a Reject to a message sent OnBehalfOf a firm is addressed DeliverTo that firm."""
    out = on.peer.send(
        "D", [*ORDER[:2], (38, 100), (40, "w"), *ORDER[3:]], header=[(115, "JCD"), (116, "CS")]
    )
    assert ss(out) == [
        "35=3|34=2|49=ISLD|56=TW44|128=JCD|129=CS|45=2|58=Value is incorrect (out of range) for this tag"
        "|371=40|372=D|373=5"
    ]


def test_19a_possresend_of_a_seen_order_is_ignored(on: World) -> None:
    """19a: PossResend NewOrderSingle whose ClOrdID was seen in this session: ignored."""
    on.peer.send("D", ORDER)
    assert on.peer.send("D", ORDER, header=[(97, "Y")]) == []


def test_19b_possresend_of_an_unseen_order_is_processed(on: World) -> None:
    """19b: PossResend NewOrderSingle with a new ClOrdID: processed (echoed with 97=Y)."""
    assert ss(on.peer.send("D", ORDER, header=[(97, "Y")])) == [f"35=D|34=2|49=ISLD|56=TW44|97=Y|{ECHO}"]


def test_20_simultaneous_resend_requests_are_both_served(on: World) -> None:
    """20: we ask for a resend while the peer asks us for one: we serve theirs at once."""
    on.peer.send("D", ORDER)
    on.peer.send("D", ORDER)
    assert ss(on.peer.send("0", seq=7)) == ["35=2|34=4|49=ISLD|56=TW44|7=4|16=0"]
    out = on.peer.send("2", [(7, 2), (16, 3)], seq=8)
    assert ss(out) == [
        f"35=D|34=2|43=Y|49=ISLD|56=TW44|{ECHO}",
        f"35=D|34=3|43=Y|49=ISLD|56=TW44|{ECHO}",
    ]
    for seq in (4, 5, 6):
        assert on.peer.send("0", seq=seq, header=[(43, "Y"), (122, b"20310106-00:00:00")]) == []
    assert on.acceptor.session("ISLD", "TW44").store.next_target_seq == 9


def test_21_repeating_group_with_zero_count_is_accepted(on: World) -> None:
    """21: a NumInGroup of 0 with no members is valid."""
    body = [
        (320, "JCD1"),
        (322, "1034"),
        (323, 6),
        (55, "TBS"),
        (22, 8),
        (167, "CS"),
        (336, "ONE_MAIN"),
        (454, 0),
    ]
    out = on.peer.send("d", body)
    assert ss(out) == [
        "35=d|34=2|49=ISLD|56=TW44|22=8|55=TBS|167=CS|320=JCD1|322=1034|323=6|336=ONE_MAIN|454=0"
    ]


def test_logon_with_reset_seqnum_flag_resets_both_sides(on: World) -> None:
    """ResetSeqNumFlag inside a live session: both sides restart at 1."""
    on.peer.send("0")
    on.peer.send("0")
    on.peer.next_seq = 1
    out = on.peer.send("A", [(98, 0), (108, 30), (141, "Y")])
    assert ss(out) == ["35=A|34=1|49=ISLD|56=TW44|98=0|108=30|141=Y"]
    assert ss(on.peer.send("1", [(112, "1")])) == ["35=0|34=2|49=ISLD|56=TW44|112=1"]


def test_the_serve_profile_factory_stamps_and_times_on_the_wall_clock_it_is_given() -> None:
    """``acceptance.build`` (what ``chronex serve --fix-profile acceptance`` calls) uses one clock."""
    from system.gateways.fix.acceptance import build

    wall = FixedClock(T0)
    acceptor = build(port=0, wall=wall)
    assert acceptor.clock is wall and acceptor.timer_clock is wall
    assert [s.key for s in acceptor.config.sessions] == [("ISLD", "TW44")]
    assert acceptor.config.sessions[0].reset_on_logon
