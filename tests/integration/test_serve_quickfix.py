"""QuickFIX (quickfix-py) as an independent initiator against `chronex serve` itself: log on,
trade, cancel, replace and log out through the server core and the FIX order application, with
the server on a 2031 virtual clock."""

from __future__ import annotations

from pathlib import Path

from system.clock import FixedClock
from system.engine import OrderAccepted, OrderCancelled, OrderReplaced, TradeExecuted
from system.eventlog import open_log
from system.server.process import ServeProcess
from tests.integration.quickfix_kit import DICTIONARY, QuickFix

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = """\
[[session]]
sender_comp_id = "CHRONEX"
target_comp_id = "QF1"
accounts = ["ACC1"]
sending_time_tolerance_s = 0
"""


def test_quickfix_trades_cancels_replaces_and_logs_out_against_chronex_serve(tmp_path: Path) -> None:
    (tmp_path / "sessions.toml").write_text(SESSIONS, encoding="utf-8")
    log, sessions = str(tmp_path / "day.db"), str(tmp_path / "sessions.toml")
    srv = ServeProcess(
        ["--venue", "XTKS", "--instruments", "7203", "--no-calendar", "--log", log,
         "--fix-port", "0", "--sessions", sessions, "--start", "2031-01-06T10:00+09:00"],
        cwd=ROOT,
    )  # fmt: skip
    use_dictionary = "Y" if DICTIONARY.exists() else "N"
    cfg = tmp_path / "qf.cfg"
    # CheckLatency=N: the server's SendingTime is its virtual 2031 clock, not QuickFIX's wall clock.
    cfg.write_text(
        "[DEFAULT]\nConnectionType=initiator\nReconnectInterval=1\nStartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={tmp_path / 'qf-store'}\nHeartBtInt=30\nSocketConnectHost=127.0.0.1\n"
        f"SocketConnectPort={srv.fix_port}\nUseDataDictionary={use_dictionary}\nDataDictionary={DICTIONARY}\n"
        "ResetOnLogon=Y\nCheckLatency=N\n\n"
        "[SESSION]\nBeginString=FIX.4.4\nSenderCompID=QF1\nTargetCompID=CHRONEX\n"
    )
    qf = QuickFix()
    try:
        tags = (1, 11, 14, 31, 32, 37, 39, 41, 44, 102, 150, 151, 434)
        qf.engine("qf", "initiator", cfg, tags=tags, header_tags=(35, 52))
        assert qf.logged_on("qf", 20)

        def send(msg_type: str, fields: list[tuple[int, str]]) -> None:
            qf.send("qf", "CHRONEX", msg_type, fields)

        base = [(21, "1"), (55, "7203"), (207, "XTKS"), (40, "2")]
        send("D", [(11, "buy-1"), (54, "1"), (38, "300"), (44, "2500"), *base])
        send("D", [(11, "sell-1"), (54, "2"), (38, "100"), (44, "2500"), *base])
        reports = qf.take("qf", 4, 20)
        assert [(r[11], r[150], r[39]) for r in reports] == [
            ("buy-1", "0", "0"),
            ("sell-1", "0", "0"),
            ("buy-1", "F", "1"),
            ("sell-1", "F", "2"),
        ]
        fill = reports[2]
        assert (fill[32], fill[31], fill[151], fill[1]) == ("100", "2500", "200", "ACC1")
        assert fill[52].startswith("20310106-01:00:00")  # the server's clock, not the host's
        send("G", [(11, "buy-2"), (41, "buy-1"), (54, "1"), (38, "200"), (44, "2499"), *base])
        sym = [(55, "7203"), (207, "XTKS")]
        send("F", [(11, "buy-3"), (41, "buy-2"), (54, "1"), (38, "200"), *sym])
        send("F", [(11, "x-1"), (41, "nope"), (54, "1"), (38, "1"), *sym])
        # An unknown order is refused at the gateway at once; the others wait for their batch.
        got = {m[11]: m for m in qf.take("qf", 3, 20)}
        replaced, cancelled, rejected = got["buy-2"], got["buy-3"], got["x-1"]
        assert (replaced[150], replaced[11], replaced[41], replaced[44]) == ("5", "buy-2", "buy-1", "2499")
        assert (cancelled[150], cancelled[39], cancelled[11], cancelled[41]) == ("4", "4", "buy-3", "buy-2")
        assert (rejected[35], rejected[434], rejected[102]) == ("9", "1", "1")
        qf.logout("qf", 20)
        assert qf.logged_out("qf", 1)
    finally:
        qf.close()
        assert srv.terminate() == 0
    log = open_log(tmp_path / "day.db", FixedClock(0), create=False)
    try:
        kinds = [type(e.record) for e in log.read(1)]
    finally:
        log.close()
    assert kinds.count(OrderAccepted) == 2 and kinds.count(TradeExecuted) == 1
    assert kinds.count(OrderReplaced) == 1 and kinds.count(OrderCancelled) == 1
