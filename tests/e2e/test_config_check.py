"""`chronex config check` validates every kind of configuration file, naming file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from chronex.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path,kind",
    [
        ("config/risk.example.toml", "run"),
        ("config/pricing.example.toml", "run"),
        ("config/hedging.example.toml", "run"),
        ("sim/markets/profiles/XTKS.toml", "simulator"),
        ("sim/clock/venues/CME.toml", "venue"),
        ("config/rest-target.example.toml", "rest-target"),
    ],
)
def test_shipped_files_pass_with_their_kind_detected(
    capsys: pytest.CaptureFixture[str], path: str, kind: str
) -> None:
    """Every shipped configuration checks clean (exit 0) and its kind is recognised."""
    assert main(["config", "check", str(ROOT / path)]) == 0
    assert f"ok, a {kind} file" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text,kind,needles",
    [
        ("[risk]\nwarning_bp = -5\n", None, ["risk.warning_bp", "-5"]),
        ("[risk]\ncall_bp = 1.5\n", None, ["risk.call_bp", "1.5", "floats"]),
        ("[pricing]\ndefault_method = \"guess\"\n", None, ["default_method", "guess"]),
        ("[risks]\nwarning_bp = 1\n", "run", ["risks", "unknown table"]),
        ("[pricing]\n", "risk", ["no [risk] table"]),
        ("[hedging]\nmax_attempts = 0\n", None, ["hedging.max_attempts", "0"]),
        ("[target]\nexternal = true\nurl = \"ftp://x\"\n", None, ["target.url", "ftp://x"]),
        ("[target]\nexternal = false\n", "rest-target", ["target.external", "False"]),
        ("[profile]\nname = \"X\"\n", None, ["profile.calendar", "missing"]),
        ("[venue]\ncode = \"V\"\n[[timetable]]\neffective = 2000-01-01\n", None, ["venue.timezone"]),
        ("title = 'nothing'\n", None, ["cannot tell"]),
        ("[risk\n", None, ["not valid TOML"]),
        ('[[key]]\nkey = "k"\nname = "x"\nrole = "boss"\n', None, ["key[0].role", "'boss'", "qa-admin"]),
        ("[risk]\n", "colour", ["--kind 'colour'"]),
    ],
)
def test_bad_files_are_one_line_naming_file_key_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, kind: str | None, needles: list[str]
) -> None:
    """A bad file exits 2 with one line that names the file and what is wrong in it."""
    f = tmp_path / "bad.toml"
    f.write_text(text)
    args = ["config", "check", str(f)] + (["--kind", kind] if kind else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for n in [*needles, str(f)] if kind != "colour" else needles:
        assert n in err, (n, err)
    assert "--api-keys" not in err  # config check has no such option


def test_sim_refuses_a_misspelt_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """sim --config names a table it would otherwise skip silently."""
    f = tmp_path / "run.toml"
    f.write_text("[risks]\nwarning_bp = 8000\n")
    args = ["sim", "--venue", "XTKS", "--date", "2027-01-04", "--config", str(f), "--quiet"]
    assert main(args) == 2
    assert "risks: unknown table" in capsys.readouterr().err


def test_a_bad_keys_file_never_echoes_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Keys are secrets: an error names the entry and the problem, not the table's values."""
    f = tmp_path / "keys.toml"
    f.write_text('[[key]]\nkey = "s3cret-value"\nname = "x"\nrole = "trader"\ncolour = 1\n')
    assert main(["config", "check", str(f)]) == 2
    err = capsys.readouterr().err
    assert "key[0]" in err and "colour" in err and "s3cret-value" not in err
