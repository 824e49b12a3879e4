"""The FIX 4.4 session-level test cases 1a to 6 (logon, standard header, trailer, heartbeats and
test requests; 7 to 21 are beside this file), one or more tests each, against the acceptor
with the acceptance-profile application, driven by hand on fixed clocks (no sockets, no sleeps).

Expected messages are written as ``tag=value|...`` without BeginString, BodyLength, SendingTime,
OrigSendingTime and CheckSum (those are checked by the codec tests)."""

from __future__ import annotations

import re

import pytest

from system.gateways.fix import SessionsConfig, SessionSettings
from system.gateways.fix.codec import encode_fields, frame
from tests.unit.fixsession.kit import ECHO, LOGON_REPLY, ORDER, World, ss


# -- 1: logon ----------------------------------------------------------------------------------------------
def test_1a_valid_logon_is_answered_with_logon(w: World) -> None:
    """1a: a valid Logon with the expected MsgSeqNum gets a Logon back; the session is live."""
    assert ss(w.peer.logon()) == [LOGON_REPLY]
    assert w.acceptor.session("ISLD", "TW44").logged_on


def test_1a_logon_with_seqnum_too_high_is_answered_then_a_resend_is_requested(w: World) -> None:
    """1a: Logon with MsgSeqNum 5 when 1 is expected: Logon, then ResendRequest 1 to infinity."""
    w.peer.connect()
    out = w.peer.send("A", [(98, 0), (108, 30)], seq=5)
    assert ss(out) == [LOGON_REPLY, "35=2|34=2|49=ISLD|56=TW44|7=1|16=0"]


def test_1b_second_logon_of_a_live_session_is_refused_and_the_first_stays(w: World) -> None:
    """1b: a second connection logging on as a live session is disconnected without a reply."""
    w.peer.logon()
    second = w.new_peer()
    second.connect()
    assert second.send("A", [(98, 0), (108, 30)]) == []
    assert second.closed
    assert not w.peer.closed
    assert ss(w.peer.send("1", [(112, "X")], seq=2)) == ["35=0|34=2|49=ISLD|56=TW44|112=X"]


@pytest.mark.parametrize(("sender", "target"), [("WT", "ISLD"), ("TW44", "DLSI")])
def test_1c_logon_with_unknown_comp_ids_is_disconnected(w: World, sender: str, target: str) -> None:
    """1c: a Logon naming no configured session is disconnected without a reply."""
    w.peer.connect()
    assert w.peer.send("A", [(98, 0), (108, 30)], sender=sender, target=target) == []
    assert w.peer.closed


def test_1d_logon_with_bad_sending_time_is_disconnected(w: World) -> None:
    """1d: a Logon stamped far from our clock is disconnected."""
    w.peer.connect()
    assert w.peer.send("A", [(98, 0), (108, 30)], sending_time=b"20010101-00:00:00") == []
    assert w.peer.closed


def test_1d_logon_with_wrong_body_length_is_disconnected(w: World) -> None:
    """1d: a Logon whose BodyLength is wrong is garbled, and garbled before logon disconnects."""
    w.peer.connect()
    raw = w.peer.build("A", [(98, 0), (108, 30)])
    bad = re.sub(rb"\x019=\d+", b"\x019=40", raw, count=1)
    assert w.peer.send_raw(bad) == []
    assert w.peer.closed


def test_1d_logon_with_wrong_begin_string_is_disconnected(w: World) -> None:
    """1d: a Logon with BeginString FIX.3.9 is disconnected."""
    w.peer.connect()
    w.peer.begin_string = "FIX.3.9"
    assert w.peer.send("A", [(98, 0), (108, 30)]) == []
    assert w.peer.closed


def test_1e_first_message_not_a_logon_is_disconnected(w: World) -> None:
    """1e: a connection whose first message is not a Logon is dropped."""
    w.peer.connect()
    assert w.peer.send("0") == []
    assert w.peer.closed


def test_logon_with_wrong_password_gets_logout(w: World) -> None:
    """Username/Password from the sessions file are checked at logon."""
    cfg = SessionsConfig((SessionSettings("ISLD", "TW44", username="tw", password="pw"),))
    w = World(cfg)
    w.peer.connect()
    out = w.peer.send("A", [(98, 0), (108, 30), (553, "tw"), (554, "nope")])
    assert ss(out) == ["35=5|34=1|49=ISLD|56=TW44|58=Invalid username or password"]
    assert w.peer.closed
    w.peer.next_seq = 1
    assert ss(w.peer.logon(30, (553, "tw"), (554, "pw")))[0].startswith("35=A|34=2")


# -- 2: standard header ------------------------------------------------------------------------------------
def test_2a_in_sequence_messages_are_accepted(on: World) -> None:
    """2a: MsgSeqNum as expected: processed (the order is echoed)."""
    assert ss(on.peer.send("D", ORDER)) == [f"35=D|34=2|49=ISLD|56=TW44|{ECHO}"]


def test_2b_seqnum_too_high_requests_resend_and_queues(on: World) -> None:
    """2b: a gap triggers one ResendRequest; the queued message runs once the gap is filled."""
    on.peer.send("0")
    out = on.peer.send("1", [(112, "LATE")], seq=5)
    assert ss(out) == ["35=2|34=2|49=ISLD|56=TW44|7=3|16=0"]
    assert on.peer.send("0", seq=3) == []
    out = on.peer.send("0", seq=4)
    assert ss(out) == ["35=0|34=3|49=ISLD|56=TW44|112=LATE"]
    assert on.acceptor.session("ISLD", "TW44").store.next_target_seq == 6


def test_2c_seqnum_too_low_without_possdup_logs_out(on: World) -> None:
    """2c: MsgSeqNum lower than expected, not PossDup: Logout with the reason, disconnect."""
    on.peer.send("0")
    out = on.peer.send("0", seq=2)
    assert ss(out) == ["35=5|34=2|49=ISLD|56=TW44|58=MsgSeqNum too low, expecting 3 but received 2"]
    assert on.peer.closed


def test_2d_garbled_message_is_ignored(on: World) -> None:
    """2d: a garbled message is ignored without a Reject and does not consume a MsgSeqNum."""
    garbled = frame(b"FIX.4.4", b"35=0\x0134=2\x014garbled9=TW\x0152=20310106-00:00:00\x0156=ISLD\x01")
    assert on.peer.send_raw(garbled) == []
    assert not on.peer.closed
    assert ss(on.peer.send("1", [(112, "A")], seq=2)) == ["35=0|34=2|49=ISLD|56=TW44|112=A"]


def test_2e_possdup_already_received_is_ignored(on: World) -> None:
    """2e: PossDup with a MsgSeqNum already received: ignored, no answer, session goes on."""
    on.peer.send("0")
    assert on.peer.send("1", [(112, "DUP")], seq=2, header=[(43, "Y"), (122, b"20310106-00:00:00")]) == []
    assert ss(on.peer.send("1", [(112, "NEW")], seq=3)) == ["35=0|34=2|49=ISLD|56=TW44|112=NEW"]


def test_2e_possdup_not_yet_received_is_processed(on: World) -> None:
    """2e: PossDup with the expected MsgSeqNum is processed like any message."""
    out = on.peer.send("1", [(112, "P")], header=[(43, "Y"), (122, b"20310106-00:00:00")])
    assert ss(out) == ["35=0|34=2|49=ISLD|56=TW44|112=P"]


def test_2f_possdup_with_orig_sending_time_after_sending_time_rejects_and_logs_out(on: World) -> None:
    """2f: OrigSendingTime later than SendingTime: Reject 373=10, then Logout."""
    on.peer.send("D", ORDER)
    out = on.peer.send("D", ORDER, seq=2, header=[(43, "Y"), (122, b"20310106-00:00:10")])
    assert ss(out) == [
        "35=3|34=3|49=ISLD|56=TW44|45=2|58=SendingTime accuracy problem|372=D|373=10",
        "35=5|34=4|49=ISLD|56=TW44",
    ]


def test_2g_possdup_without_orig_sending_time_is_rejected_without_consuming(on: World) -> None:
    """2g: PossDup without OrigSendingTime: Reject 373=1 naming 122; the expected seq is unchanged."""
    on.peer.send("D", ORDER)
    out = on.peer.send("D", ORDER, seq=2, header=[(43, "Y")])
    assert ss(out) == ["35=3|34=3|49=ISLD|56=TW44|45=2|58=Required tag missing|371=122|372=D|373=1"]
    assert ss(on.peer.send("1", [(112, "H")], seq=3)) == ["35=0|34=4|49=ISLD|56=TW44|112=H"]


def test_2i_unexpected_begin_string_logs_out(on: World) -> None:
    """2i: a BeginString other than the session's: Logout "Incorrect BeginString", disconnect."""
    on.peer.begin_string = "FIX.4.1"
    out = on.peer.send("1", [(112, "id")])
    assert ss(out) == ["35=5|34=2|49=ISLD|56=TW44|58=Incorrect BeginString"]
    assert on.peer.closed


@pytest.mark.parametrize(("sender", "target"), [("WT", "ISLD"), ("TW44", "DLSI"), ("WT", "DLSI")])
def test_2k_comp_id_not_matching_the_session_rejects_and_logs_out(
    on: World, sender: str, target: str
) -> None:
    """2k: wrong SenderCompID or TargetCompID inside a live session: Reject 373=9 and Logout."""
    out = on.peer.send("D", ORDER, sender=sender, target=target)
    assert ss(out) == [
        "35=3|34=2|49=ISLD|56=TW44|45=2|58=CompID problem|372=D|373=9",
        "35=5|34=3|49=ISLD|56=TW44",
    ]
    assert not on.peer.closed  # waits for the peer's Logout ...
    on.peer.send("5", seq=3)
    assert on.peer.closed  # ... then disconnects


def test_2m_wrong_body_length_is_ignored_and_the_stream_resynchronises(on: World) -> None:
    """2m: a message whose BodyLength is wrong is dropped; the next one is read normally."""
    raw = on.peer.build("D", ORDER)
    bad = b"8=FIX.4.4\x019=30\x01" + raw.split(b"\x01", 2)[2]
    out = on.peer.send_raw(bad + on.peer.build("D", ORDER))
    assert ss(out) == ["35=2|34=2|49=ISLD|56=TW44|7=2|16=0"]


def test_2o_sending_time_out_of_range_rejects_and_logs_out(on: World) -> None:
    """2o: SendingTime more than 2 minutes from our clock: Reject 373=10, then Logout."""
    out = on.peer.send("0", sending_time=b"20310105-23:57:59")
    assert ss(out) == [
        "35=3|34=2|49=ISLD|56=TW44|45=2|58=SendingTime accuracy problem|372=0|373=10",
        "35=5|34=3|49=ISLD|56=TW44",
    ]


def test_2q_invalid_msg_type_is_rejected(on: World) -> None:
    """2q: a MsgType FIX 4.4 does not define: Reject 373=11."""
    assert ss(on.peer.send("*")) == ["35=3|34=2|49=ISLD|56=TW44|45=2|58=Invalid MsgType|372=*|373=11"]


def test_2r_unsupported_msg_type_gets_business_reject(on: World) -> None:
    """2r: a valid MsgType the application does not handle: BusinessMessageReject 380=3."""
    er = [(37, "id"), (17, "id"), (150, 0), (39, 0), (55, "WLRI"), (54, 1), (151, 100), (14, 0), (6, "0.0")]
    out = on.peer.send("8", er)
    assert ss(out) == ["35=j|34=2|49=ISLD|56=TW44|45=2|58=Unsupported Message Type|372=8|380=3"]


def test_2t_first_three_fields_out_of_order_is_ignored(on: World) -> None:
    """2t: BeginString, BodyLength, MsgType not first: treated as garbled and ignored."""
    payload = encode_fields([(34, 2), (35, "0"), (49, "TW44"), (52, "20310106-00:00:00"), (56, "ISLD")])
    assert on.peer.send_raw(frame(b"FIX.4.4", payload)) == []
    assert ss(on.peer.send("1", [(112, "OK")], seq=2)) == ["35=0|34=2|49=ISLD|56=TW44|112=OK"]


# -- 3: trailer --------------------------------------------------------------------------------------------
def test_3b_invalid_checksum_is_ignored(on: World) -> None:
    """3b: a bad CheckSum: the message is ignored and its MsgSeqNum is still expected."""
    raw = on.peer.build("1", [(112, "X")], seq=2)
    bad = raw[:-4] + (b"%03d" % ((int(raw[-4:-1]) + 1) % 256)) + b"\x01"
    assert on.peer.send_raw(bad) == []
    assert ss(on.peer.send_raw(raw)) == ["35=0|34=2|49=ISLD|56=TW44|112=X"]


def test_3c_garbled_trailer_is_ignored(on: World) -> None:
    """3c: a frame whose trailer is not where BodyLength says is ignored, and the stream goes on."""
    raw = on.peer.build("1", [(112, "X")], seq=2)
    cut = raw.rindex(b"10=")
    broken = raw[:cut] + b"10" + raw[cut + 3 :]
    assert on.peer.send_raw(broken + b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01") == []
    assert not on.peer.closed
    assert ss(on.peer.send_raw(raw)) == ["35=0|34=2|49=ISLD|56=TW44|112=X"]


# -- 4 to 6: heartbeats and test requests ------------------------------------------------------------------
def test_4a_heartbeat_after_heartbtint_of_silence(w: World) -> None:
    """4a: with nothing to send for HeartBtInt seconds, a Heartbeat goes out."""
    w.peer.logon(6)
    assert ss(w.wait(5.9)) == []
    assert ss(w.wait(0.2)) == ["35=0|34=2|49=ISLD|56=TW44"]


def test_4b_test_request_is_answered_with_its_id(on: World) -> None:
    """4b: a TestRequest gets a Heartbeat carrying its TestReqID."""
    assert ss(on.peer.send("1", [(112, "HELLO")])) == ["35=0|34=2|49=ISLD|56=TW44|112=HELLO"]


def test_5_heartbeat_is_accepted_silently(on: World) -> None:
    """5: a valid Heartbeat is accepted and counted, with no answer."""
    assert on.peer.send("0") == []
    assert on.acceptor.session("ISLD", "TW44").store.next_target_seq == 3


def test_6_silent_peer_gets_a_test_request_then_is_disconnected(w: World) -> None:
    """6: after 1.2 x HeartBtInt of silence a TestRequest; after 2.4 x, disconnect."""
    w.peer.logon(10)
    out = w.wait(12.1)
    assert ss(out) == ["35=0|34=2|49=ISLD|56=TW44", "35=1|34=3|49=ISLD|56=TW44|112=TEST"]
    w.peer.send("0", [(112, "TEST")])
    assert not w.peer.closed
    w.wait(24.1)
    assert w.peer.closed
    assert w.acceptor.session("ISLD", "TW44").close_reason == "peer silent for 2.4 x HeartBtInt"
