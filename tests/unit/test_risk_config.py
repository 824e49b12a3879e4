"""Risk and pricing configuration files: the example loads, and every bad value is named with its
file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from system.bootstrap import SystemConfig
from system.eventlog.codec import canonical
from system.pricing import ConfigError, PricingConfig, load_pricing, parse_pricing
from system.risk import RiskConfig, as_risk_config, load_risk, parse_risk

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "risk.example.toml"


def test_example_config_loads() -> None:
    """config/risk.example.toml parses into both configurations."""
    risk = load_risk(EXAMPLE)
    pricing = load_pricing(EXAMPLE)
    assert isinstance(risk, RiskConfig) and isinstance(pricing, PricingConfig)
    assert risk.accounts["FUND-A"].kill_on == ("max_orders_per_second", "margin_call")
    assert pricing.rule("CRYPTO:BTC-JPY").method == "composite"
    assert pricing.rule("XTKS:9984").method == "last"


def test_config_survives_the_run_log_round_trip() -> None:
    """A RunConfigured replay gives plain values back; they convert to the same configuration."""
    import msgspec

    risk = load_risk(EXAMPLE)
    cfg = SystemConfig(risk=risk)
    back = msgspec.msgpack.decode(canonical(cfg), type=SystemConfig)
    assert as_risk_config(back.risk) == risk


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[risk]\nwarning_bp = 8000.5\n", "risk.warning_bp = 8000.5: floats are not allowed"),
        (
            '[risk.accounts.A]\nmax_open_orders = "ten"\n',
            "risk.accounts.A.max_open_orders = 'ten': Expected `int | null`",
        ),
        (
            '[risk.accounts.A]\nmax_notionl = "1"\n',
            "risk.accounts.A = {'max_notionl': '1'}: Object contains unknown field `max_notionl`",
        ),
        (
            '[risk.accounts.A]\nmax_notional = "1e6x"\n',
            "risk.accounts.A.max_notional = '1e6x': not a decimal number",
        ),
        (
            '[risk.accounts.A]\ncurrency = "USD"\nmax_notional = "10.005"\n',
            "risk.accounts.A.max_notional = '10.005': 10.005 is not a multiple of the USD unit 0.01",
        ),
        ('[risk.accounts.A]\nkill_on = ["boom"]\n', "risk.accounts.A.kill_on[0] = 'boom': not one of"),
        (
            '[risk.accounts.A]\nmax_position = "-5"\n',
            "risk.accounts.A.max_position = '-5': must not be negative",
        ),
        (
            "[risk]\nwarning_bp = 12000\n",
            "risk.warning_bp = 12000: must be positive and at most call_bp (10000)",
        ),
        (
            "[risk.instruments.X]\ninitial_bp = 100\nmaintenance_bp = 200\n",
            "risk.instruments.X.maintenance_bp = 200: must not exceed initial_bp (100)",
        ),
        ('[risk.currencies]\nJPY = "0"\n', "risk.currencies.JPY = '0': a unit must be positive"),
        ("[risk.accounts.A]\nmaker_fee_bp = 20000\n", "risk.accounts.A.maker_fee_bp = 20000: must be within"),
        (
            '[pricing]\ndefault_method = "vwap"\n',
            "pricing.default_method = 'vwap': Invalid enum value 'vwap'",
        ),
        (
            '[pricing.venues.X]\ntz = "Mars/Olympus"\n',
            "pricing.venues.X.tz = 'Mars/Olympus': unknown time zone",
        ),
        (
            '[pricing.venues.X]\nday_start = "25:00"\n',
            "pricing.venues.X.day_start = '25:00': not a local time",
        ),
        (
            '[pricing.marks.X]\nstale_after = "5 sec"\n',
            "pricing.marks.X.stale_after = '5 sec': not a duration",
        ),
        (
            '[pricing.marks.X]\nmethod = "composite"\n',
            "pricing.marks.X.sources: a composite mark needs at least one source",
        ),
        (
            '[pricing.marks.X]\nmethod = "composite"\nsources = [{ name = "a", weight = 0 }]\n',
            "pricing.marks.X.sources[0].weight = 0: must be positive",
        ),
        ('[pricing]\nbars = ["2m"]\n', "pricing.bars[0] = '2m': not one of 1s, 1m, 5m, 1h, 1d"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, toml: str, message: str) -> None:
    """A bad value fails with the file, the dotted key and the value in one line."""
    f = tmp_path / "run.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError) as e:
        load_risk(f)
        load_pricing(f)
    text = str(e.value)
    assert text.startswith(f"{f}: ") and message in text and "\n" not in text


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    """A missing file or broken TOML is one clear error naming the file."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_risk(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_risk(bad)


def test_missing_tables_mean_not_running(tmp_path: Path) -> None:
    """A file without [risk] or [pricing] gives None: that engine does not run."""
    f = tmp_path / "empty.toml"
    f.write_text("")
    assert load_risk(f) is None and load_pricing(f) is None


def test_defaults() -> None:
    """An empty table gives the documented defaults: warning at 80%, call at 100%."""
    r = parse_risk({})
    assert (r.warning_bp, r.call_bp, r.base_currency) == (8000, 10000, "JPY")
    assert parse_pricing({}).default_method == "last"
