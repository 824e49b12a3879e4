"""The ``chronex`` command. Each sub-command ``<name>`` lives in ``chronex/commands/<name>.py`` and
exposes ``register(app)``; this module finds them, so adding one touches no other file.

A command's module is imported only when that command runs (or shows its own help): the engines,
pandas and the calendars stay unloaded for ``chronex --help``, ``chronex version`` and every other
command. The top-level help lists each command with the first paragraph of its function's
docstring, read from the source without importing it.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import signal
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

import chronex.commands
from chronex.errors import BadInput, CheckFailed


@cache
def command_help() -> dict[str, str]:
    """Every sub-command's name and the first paragraph of its help, from the modules' source."""
    found: dict[str, str] = {}
    for mod in pkgutil.iter_modules(chronex.commands.__path__):
        path = Path(chronex.commands.__path__[0]) / f"{mod.name}.py"
        found[mod.name] = _help_in(ast.parse(path.read_text(encoding="utf-8")), mod.name)
    return dict(sorted(found.items()))


def _help_in(tree: ast.Module, name: str) -> str:
    """The help of command ``name`` in a module: the docstring of the function registered under
    that name (``app.command(name)(fn)`` or ``@app.command(name)``), or the ``help=`` of the Typer
    added under it (``app.add_typer(sub, name=name)``)."""
    docs = {n.name: ast.get_docstring(n) or "" for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    helps = {
        t.id: kw.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
        for t in n.targets
        if isinstance(t, ast.Name)
        for kw in n.value.keywords
        if kw.arg == "help" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
    }
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef):
            for d in n.decorator_list:
                if _names(d, "command", name):
                    return _first_paragraph(docs[n.name])
        if isinstance(n, ast.Call) and _names(n.func, "command", name) and n.args:
            fn = n.args[0]
            if isinstance(fn, ast.Name):
                return _first_paragraph(docs.get(fn.id, ""))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add_typer":
            kws = {kw.arg: kw.value for kw in n.keywords}
            sub = n.args[0] if n.args else None
            label = kws.get("name")
            if isinstance(label, ast.Constant) and label.value == name and isinstance(sub, ast.Name):
                return helps.get(sub.id, "")
    return ""


def _names(node: ast.expr, attr: str, name: str) -> bool:
    """``node`` is ``<x>.<attr>("name", ...)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == attr
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == name
    )


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.strip().split("\n\n")[0].split())


class LazyGroup(TyperGroup):
    """Imports a command's module when the command is resolved; help listings get a stand-in."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*self.commands, *command_help()})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is None and cmd_name in command_help():
            return TyperCommand(cmd_name, help=command_help()[cmd_name])
        return cmd

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] in command_help():
            self.load(args[0])
        return super().resolve_command(ctx, args)

    def load(self, name: str) -> Any:
        """The real command ``name``, its module imported and registered."""
        module = importlib.import_module(f"chronex.commands.{name}")
        sub = typer.Typer()
        module.register(sub)
        group = typer.main.get_group(sub)
        cmd = group.commands[name]
        self.add_command(cmd, name)
        return cmd


app = typer.Typer(
    name="chronex",
    help="Test and audit a trading system on a controllable virtual clock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help pages: typer's rich help costs about 0.3 s of imports (typer.rich_utils),
    # which alone would put `chronex --help` over its 300 ms start-up budget.
    rich_markup_mode=None,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    # A callback keeps chronex a group while only `version` is registered up front.
    pass


@app.command()
def version() -> None:
    """Print the Chronex version."""
    from importlib import metadata

    try:
        version = metadata.version("chronex")
    except metadata.PackageNotFoundError:  # a source tree without install
        version = "0+unknown"
    typer.echo(f"chronex {version}")


class Terminated(BaseException):
    """SIGTERM, raised where the command is, as Ctrl-C is: the same clean-up runs (a log being
    written is removed, not left half-written under its temporary name with its lock). Not a
    KeyboardInterrupt, which click turns into an exit code of its own before we see it."""


def _term(signum: int, frame: object) -> None:
    raise Terminated


def _term_as_interrupt() -> Any:
    """Route SIGTERM through ``Terminated`` for this command (servers install their own handler
    in their event loop); returns the handler to put back, or None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _term)


# A reader that closed our stdout early (`| head`): what a shell reports of a command killed by
# SIGPIPE (128 + 13). rich and click would exit 1, which here means a check failed.
PIPE_CLOSED = 141


def _stdout_to_devnull() -> None:
    # Later writes (and the interpreter's flush at exit) go nowhere instead of raising again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _broken_pipe(console: object) -> None:
    _stdout_to_devnull()
    raise BrokenPipeError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # The two commonest cheap calls skip typer's option parsing, which imports pydantic (about
    # half of the start-up time). They print exactly what the parsed path prints.
    if args == ["version"]:
        version()
        return 0
    if args == ["--help"]:
        return _top_help()
    previous = _term_as_interrupt()
    from rich.console import Console

    # rich's documented hook for a closed stdout exits 1; ours raises, for _run to say PIPE_CLOSED.
    Console.on_broken_pipe = _broken_pipe  # type: ignore[method-assign,assignment]
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: list[str]) -> int:
    try:
        rc = app(args=args, standalone_mode=False)
    except BadInput as e:
        _say(f"chronex: {e}")
        return 2
    except CheckFailed as e:
        _say(f"chronex: {e}")
        return 1
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except SystemExit as e:
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":  # click's exit 1 on a closed stdout
            return PIPE_CLOSED
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    except BrokenPipeError:
        _stdout_to_devnull()
        return PIPE_CLOSED
    except Terminated:
        _say("chronex: terminated")
        return 143
    except KeyboardInterrupt:
        _say("chronex: interrupted")
        return 130
    except Exception as e:
        if _is_log_error(e):
            _say(f"chronex: {e}")
            return 2
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


def _top_help() -> int:
    from typer import _click

    group = typer.main.get_group(app)
    ctx = _click.Context(group, info_name="chronex")
    typer.echo(group.get_help(ctx))  # what click's --help prints
    return 0


def _is_log_error(e: Exception) -> bool:
    # Only a command that opened a log can raise one, and it has imported the store module.
    store = sys.modules.get("system.eventlog.store")
    return store is not None and isinstance(e, store.EventLogError)


def _say(line: str) -> None:
    """One line on stderr, never wrapped at the terminal width (scripts grep these)."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(line, markup=False, soft_wrap=True)


def entry() -> None:
    sys.exit(main())
