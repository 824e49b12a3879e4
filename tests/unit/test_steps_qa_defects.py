"""Issue 17 defects in the step library, each as a QA engineer met it (unit level, no runner)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from steps.context import Scenario
from steps.errors import StepFailed
from steps.registry import find, run_step


def _run(ctx: Scenario, keyword: str, text: str, table: list[list[str]] | None = None) -> None:
    [(sd, args)] = find(keyword, text)
    run_step(sd, ctx, keyword, text, args, table)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Scenario]:
    c = Scenario(report_dir=tmp_path)
    yield c
    c.close()


def test_a_time_in_another_zone_resolves_on_that_zones_date(ctx: Scenario) -> None:
    """17:00 New York on 4 January is 07:00 Tokyo on 5 January; the assertion agrees."""
    _run(ctx, "given", "it is 2027-01-04 17:00 on XNYS")
    _run(ctx, "then", "the time is 07:00 Asia/Tokyo")
    _run(ctx, "then", "the time is 2027-01-05 07:00 Asia/Tokyo")


def test_a_wrong_time_shows_the_instant_it_expected(ctx: Scenario) -> None:
    """The failure names the expected instant with its date and zone, beside what the clock reads."""
    _run(ctx, "given", "it is 2027-01-04 17:00 on XNYS")
    with pytest.raises(StepFailed) as e:
        _run(ctx, "then", "the time is 08:00 Asia/Tokyo")
    assert "expected 2027-01-05 08:00:00 Asia/Tokyo" in str(e.value)
    assert "2027-01-05 07:00:00 Asia/Tokyo" in str(e.value)


def test_trade_steps_look_at_the_latest_when_block_only(ctx: Scenario) -> None:
    """Trades of an earlier When block do not count in a later Then."""
    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
    _run(ctx, "when", "bob sells 100 XTKS:7203 at 2500")
    _run(ctx, "then", "1 trades happen")
    _run(ctx, "when", "alice buys 200 XTKS:7203 at 2501")
    _run(ctx, "when", "bob sells 200 XTKS:7203 at 2501")
    _run(ctx, "then", "1 trades happen")
    _run(ctx, "then", "the trades are:", [["price", "qty"], ["2501", "200"]])


def _cross(ctx: Scenario) -> None:
    _run(ctx, "given", "the FX rate USD/JPY is 150")
    _run(ctx, "given", "the instrument CRYPTO:BTC/JPY")
    _run(ctx, "given", "the instrument CRYPTO:BTC/USD")
    _run(ctx, "given", "mm sells 1 CRYPTO:BTC/USD at 90000")
    _run(ctx, "when", "alice buys 1 CRYPTO:BTC/JPY at 14000000 cross-currency")


def test_the_log_shows_a_cross_price_in_its_own_books_units(ctx: Scenario) -> None:
    """A cross fill's converted price reads in the aggressor's book (JPY), not the resting one's."""
    _cross(ctx)
    _run(ctx, "then", "the log contains, in order:",
         [["event", "price", "cross price", "cross instrument"],
          ["TradeExecuted", "90000", "13,500,000", "CRYPTO:BTC/JPY"]])  # fmt: skip


def test_a_log_row_that_misses_says_which_column_differs(ctx: Scenario) -> None:
    """The nearest entry of the type is shown column by column, the differing one marked."""
    _cross(ctx)
    with pytest.raises(StepFailed) as e:
        table = [["event", "price", "qty"], ["TradeExecuted", "90001", "1"]]
        _run(ctx, "then", "the log contains, in order:", table)
    msg = str(e.value)
    assert "price: expected 90001, got 90000" in msg
    assert "qty: expected" not in msg


def test_an_fx_rate_without_risk_checks_works(ctx: Scenario) -> None:
    """Setting an FX rate turns pricing on by itself; no internal LookupError later."""
    _cross(ctx)
    _run(ctx, "then", "1 trades happen")


def test_an_fx_rate_after_the_start_without_pricing_is_a_clear_error(ctx: Scenario) -> None:
    """Too late to turn pricing on: the FX step itself fails, saying why."""
    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
    with pytest.raises(StepFailed) as e:
        _run(ctx, "when", "the FX rate USD/JPY is 150")
    assert "has a bad argument" in str(e.value) and "LookupError" not in str(e.value)
    assert "before the system starts" in str(e.value)


def test_thousands_separators_are_accepted_in_tables(ctx: Scenario) -> None:
    """1,000,000 in an expected cell equals the number it writes."""
    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "when", "alice buys 1,000,000 XTKS:7203 at 2,500")
    _run(ctx, "then", "the XTKS:7203 book is:", [["side", "price", "qty"], ["buy", "2,500", "1,000,000"]])


def test_the_book_step_documents_the_columns_it_reads() -> None:
    """docs/steps.md names the orders-shape columns the step accepts (qty, not 'qty open')."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "steps.md").read_text(encoding="utf-8")
    assert "qty open" not in text


def test_the_cross_currency_order_option_is_documented() -> None:
    """The order option that lets an order match a book in another currency is in the catalogue."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "steps.md").read_text(encoding="utf-8")
    assert "cross-currency" in text


@pytest.mark.parametrize(
    ("text", "table", "says"),
    [
        ("the log contains no TradeExecutd", None, "did you mean: TradeBusted, TradeCorrected, TradeExec"),
        ("the log contains a TradeExecutd", None, "no record type 'TradeExecutd'"),
        ("the log contains, in order:", [["event"], ["OrderAcceptd"]], "no record type 'OrderAcceptd'"),
        ("no KillSwitchEngagd is raised for alice", None, "account event 'KillSwitchEngagd' is unknown"),
    ],
)
def test_a_misspelt_record_type_is_refused_not_vacuously_true(
    ctx: Scenario, text: str, table: list[list[str]] | None, says: str
) -> None:
    """'no TradeExecutd' passed for ever (nothing has that name), whatever the day did."""
    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "given", "mm sells 100 XTKS:7203 at 2500")
    _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
    with pytest.raises(StepFailed, match=says):
        _run(ctx, "then", text, table)
    _run(ctx, "then", "the log contains no OrderRejected")  # a real type still works both ways
    _run(ctx, "then", "the log contains a TradeExecuted")


def test_an_as_of_outside_the_log_names_the_dates(ctx: Scenario) -> None:
    """'10:30:00 is outside the log, whose entries are valid from 10:00:00 to 10:00:00' read as a
    time-of-day problem when the asked day was another one."""
    import re

    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "given", "mm sells 100 XTKS:7203 at 2500")
    _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
    with pytest.raises(StepFailed) as e:
        _run(ctx, "then", "as of 2031-01-06 10:30, the position of alice in XTKS:7203 is 100")
    said = r"2031-01-06 10:30:00 is outside the log, whose entries are valid from \d{4}-"
    assert re.search(said, str(e.value)), str(e.value)


@pytest.mark.parametrize(
    "text",
    [
        "the last price of XTKS:7203 is 2502",
        "alice has traded 200 XTKS:7203",
        "alice has 2 open orders",
    ],
)
def test_every_failing_then_shows_the_last_events(ctx: Scenario, text: str) -> None:
    """docs/qa.md promises the last events of the instrument or account beside expected and
    actual; these steps printed only the two values."""
    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "given", "mm sells 300 XTKS:7203 at 2500")
    _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500")
    with pytest.raises(StepFailed) as e:
        _run(ctx, "then", text)
    assert "events of" in str(e.value) and "TradeExecuted" in str(e.value), str(e.value)


def test_an_engine_rejection_speaks_in_the_instruments_units(ctx: Scenario) -> None:
    """'price 25003 is not a multiple of tick 5' for an order at 2500.3 on a 0.1-yen instrument:
    the engine's integers, not what the order said."""
    from system.engine import OrderRejected

    _run(ctx, "given", "the instrument XTKS:7203")
    _run(ctx, "when", "alice buys 100 XTKS:7203 at 2500.3")
    [text] = [e.record.text for e in ctx.events() if isinstance(e.record, OrderRejected)]
    assert text == "price 2500.3 is not a multiple of tick 0.5 for XTKS:7203"
