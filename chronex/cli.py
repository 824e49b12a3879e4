"""The ``chronex`` command. Each sub-command lives in ``chronex/commands/<name>.py`` and exposes
``register(app)``; this module finds them, so adding one touches no other file."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer
from rich.console import Console

import chronex.commands
from chronex.errors import BadInput, CheckFailed
from system.eventlog.store import EventLogError

app = typer.Typer(
    name="chronex",
    help="Test and audit a trading system on a controllable virtual clock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)


@app.command()
def version() -> None:
    """Print the Chronex version."""
    from chronex import __version__

    typer.echo(f"chronex {__version__}")


def _load_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(chronex.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"chronex.commands.{mod.name}")
        module.register(app)


def main(argv: list[str] | None = None) -> int:
    _load_commands()
    try:
        rc = app(args=argv, standalone_mode=False)
    except (BadInput, EventLogError) as e:
        _say(f"chronex: {e}")
        return 2
    except CheckFailed as e:
        _say(f"chronex: {e}")
        return 1
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    except KeyboardInterrupt:
        _say("chronex: interrupted")
        return 130
    except Exception as e:
        # Usage errors come from click, or from the copy of click that newer typer releases
        # vendor privately: recognise them by shape rather than by a module that may be absent.
        show, code = getattr(e, "show", None), getattr(e, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            return code
        if type(e).__name__ == "Abort":
            return 1
        if os.environ.get("CHRONEX_DEBUG"):
            raise
        _say(f"chronex: internal error: {type(e).__name__}: {e} (set CHRONEX_DEBUG=1 for a traceback)")
        return 3
    # Without standalone mode click returns the code of a `raise typer.Exit(n)` instead of exiting.
    return rc if isinstance(rc, int) else 0


def _say(line: str) -> None:
    """One line on stderr, never wrapped at the terminal width (scripts grep these)."""
    err.print(line, markup=False, soft_wrap=True)


def entry() -> None:
    sys.exit(main())
