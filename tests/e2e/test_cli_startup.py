"""The CLI loads a command's code only when that command runs, and lists every command the same."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import typer

from chronex.cli import LazyGroup, _first_paragraph, command_help, main

HEAVY = ("pandas", "numpy", "simpy", "exchange_calendars", "system.engine", "sim", "pyarrow")


@pytest.mark.parametrize("args", [["--help"], ["version"], ["log", "verify", "missing.db"]])
def test_cheap_commands_import_no_engine_or_dataframe_library(args: list[str]) -> None:
    """`chronex --help`, `version` and `log verify` start without pandas, numpy, simpy, the
    calendars or the matching engine (a fresh interpreter, so nothing was imported before)."""
    code = (
        "import sys; from chronex.cli import main; main(sys.argv[1:]); "
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


def test_every_command_module_registers_its_own_name_with_the_help_listed() -> None:
    """chronex/commands/<name>.py registers the command <name>, and the help the top-level page
    shows (read from the source) is the first paragraph of that command's real help."""
    helps = command_help()
    assert {"sim", "run", "config", "log", "replay"} <= set(helps)
    for name, listed in helps.items():
        sub = typer.Typer()
        importlib.import_module(f"chronex.commands.{name}").register(sub)
        group = typer.main.get_group(sub)
        assert name in group.commands, f"chronex/commands/{name}.py does not register {name!r}"
        assert listed and listed == _first_paragraph(group.commands[name].help or ""), name


def test_the_lazy_group_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """The top-level help names every command, and an unknown one is a usage error (exit 2)."""
    assert issubclass(LazyGroup, typer.core.TyperGroup)
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in [*command_help(), "version"]:
        assert f" {name} " in out
    assert main(["nosuch"]) == 2


def test_version_answers_the_same_without_typer(capsys: pytest.CaptureFixture[str]) -> None:
    """The fast `version` path prints what the registered command prints."""
    from chronex.cli import app

    assert main(["version"]) == 0
    fast = capsys.readouterr().out
    app(["version"], standalone_mode=False)
    assert fast == capsys.readouterr().out and fast.startswith("chronex ")


def test_top_help_fast_path_prints_the_parsed_page(capsys: pytest.CaptureFixture[str]) -> None:
    """`chronex --help` (answered without option parsing) prints what typer's own path prints."""
    from chronex.cli import app

    assert main(["--help"]) == 0
    fast = capsys.readouterr().out
    app(["--help"], prog_name="chronex", standalone_mode=False)
    assert fast == capsys.readouterr().out and "Commands" in fast
