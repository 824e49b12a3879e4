"""Venue profiles: the shipped ones load into engine instruments, and bad files fail naming the
file, key and value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sim.markets import ProfileError, load_profile, shipped_profiles
from system.engine import Instrument, price_to_decimal, tse_price_limits, tse_tick_table


def test_shipped_profiles_all_load() -> None:
    """Every shipped profile loads and names a calendar and at least one instrument."""
    assert shipped_profiles() == ["CME", "CRYPTO", "FX-JP", "XTKS"]
    for name in shipped_profiles():
        p = load_profile(name)
        assert p.instruments and all(isinstance(i, Instrument) for i in p.instruments)
        assert p.calendar == name
        for inst in p.instruments:
            assert inst.problem() is None
            assert inst.reference_price is not None


def test_xtks_is_tse_equities() -> None:
    """XTKS has at least ten instruments on TSE tick tables, lots of 100 and TSE daily limits."""
    p = load_profile("xtks")
    assert len(p.instruments) >= 10
    toyota = p.instrument("7203")
    assert toyota is p.instrument("XTKS:7203")
    assert toyota.lot_size == 100 and toyota.venue == "XTKS" and toyota.quote_currency == "JPY"
    assert toyota.tick_table == tse_tick_table("0.1", topix100=True)
    assert toyota.price_limits == tse_price_limits("0.1")
    assert price_to_decimal(toyota, toyota.reference_price or 0) == Decimal("2850")
    zozo = p.instrument("3092")
    assert zozo.tick_table == tse_tick_table("1")


def test_crypto_btc_books_share_a_cross_group() -> None:
    """BTC/JPY and BTC/USD can match across currencies: same cross group and quantity increment."""
    p = load_profile("CRYPTO")
    jpy, usd, eth = p.instrument("BTC/JPY"), p.instrument("CRYPTO:BTCUSD"), p.instrument("ETH/BTC")
    assert jpy.cross_group == usd.cross_group == "BTC"
    assert jpy.qty_increment == usd.qty_increment
    assert eth.quote_currency == "BTC"


def test_fx_and_futures_profiles() -> None:
    """FX-JP quotes USD/JPY and EUR/JPY to the pipette; CME futures carry a multiplier."""
    fx = load_profile("FX-JP")
    assert {i.symbol for i in fx.instruments} >= {"USD/JPY", "EUR/JPY"}
    assert fx.instrument("USD/JPY").price_increment == "0.001"
    es = load_profile("CME").instrument("ESH7")
    assert es.multiplier == "50" and es.price_increment == "0.25"


def test_select_keeps_the_order_given() -> None:
    """select() restricts a profile to the instruments asked for, in that order."""
    p = load_profile("XTKS").select(["6758", "XTKS:7203"])
    assert p.ids == ("XTKS:6758", "XTKS:7203")


def test_unknown_names_are_clear() -> None:
    """An unknown profile or instrument names the bad value and what is known."""
    with pytest.raises(ProfileError, match=r"'NOPE'.*shipped: CME"):
        load_profile("NOPE")
    with pytest.raises(ProfileError, match=r"'9999'.*known: XTKS:7203"):
        load_profile("XTKS").instrument("9999")


GOOD = """
[profile]
name = "T"
calendar = "XTKS"
[instrument_defaults]
quote_currency = "JPY"
lot_size = 100
[factors.M]
daily_vol = 0.01
[[instrument]]
symbol = "1111"
reference_price = "1000"
factors = { M = 1.0 }
"""


@pytest.mark.parametrize(
    ("old", "new", "key", "value"),
    [
        ('reference_price = "1000"', 'reference_price = "1000.5"', "instrument[0].reference_price", "1000.5"),
        ("factors = { M = 1.0 }", "factors = { Q = 1.0 }", "instrument[0].factors.Q", "1.0"),
        ('calendar = "XTKS"', 'calendar = "MARS"', "profile.calendar", "MARS"),
        ('symbol = "1111"', 'symbol = "1111"\ncolour = "red"', "instrument[0].colour", "red"),
        ("lot_size = 100", 'lot_size = "x"', "instrument_defaults.lot_size", "x"),
        ("daily_vol = 0.01", 'daily_vol = "fast"', "factors.M.daily_vol", "fast"),
        # Rates a day can never finish at, or waits past the clock's 64-bit nanoseconds.
        ('symbol = "1111"', 'symbol = "1111"\nactivity = 1e308', "instrument[0].activity", "1e+308"),
        ('symbol = "1111"', 'symbol = "1111"\nactivity = 1e-320', "instrument[0].activity", "1e-320"),
    ],
)
def test_bad_files_name_key_and_value(tmp_path: Path, old: str, new: str, key: str, value: str) -> None:
    """A bad value in a profile file fails with the file, the key and the value."""
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(ProfileError) as e:
        load_profile(path)
    msg = str(e.value)
    assert str(path) in msg and key in msg and value in msg


def test_bad_flow_value_is_named(tmp_path: Path) -> None:
    """An unknown or negative flow parameter is named with its value."""
    path = tmp_path / "bad.toml"
    path.write_text(GOOD + "[flow]\nnoise_rate_per_s = -1\n")
    with pytest.raises(ProfileError, match="noise_rate_per_s = -1"):
        load_profile(path)
    path.write_text(GOOD + "[flow]\nnoise_speed = 2\n")
    with pytest.raises(ProfileError, match=r"flow\.noise_speed = 2: unknown flow parameter"):
        load_profile(path)


def test_a_good_file_loads(tmp_path: Path) -> None:
    """A minimal profile file loads with defaults filled in."""
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    p = load_profile(path)
    assert p.ids == ("XTKS:1111",)
    assert p.specs[0].factors == (("M", 1.0),)
