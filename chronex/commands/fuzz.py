"""``chronex fuzz``: random order flows against an external target and Chronex's engine together;
a difference is shrunk to a minimal flow and written as a Gherkin scenario (docs/external.md).

Exit 0 when no difference was found within the budget, 1 when one was (the scenario is written),
2 on bad input (an unreachable target, a bad sessions file, a bad seed or budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from chronex.errors import BadInput, CheckFailed

out = Console(highlight=False, soft_wrap=True)


def _check(sessions: Path | None, target: str | None, seed: str, budget: int) -> tuple[Path, int]:
    import socket

    from system.oracle.config import ConfigError, load_target

    try:
        n = int(seed)
    except ValueError:
        raise BadInput(f"--seed {seed!r} is not a whole number") from None
    if n < 0:
        raise BadInput(f"--seed {seed!r} must not be negative")
    if budget < 1:
        raise BadInput(f"--budget {budget} must be at least 1 (flows to try)")
    if sessions is None:
        raise BadInput(
            "--sessions FILE is required: it names our FIX session with the target (docs/external.md)"
        )
    try:
        cfg = load_target(sessions, target=target)
    except (ConfigError, ValueError) as e:
        raise BadInput(str(e)) from None
    try:
        socket.create_connection((cfg.host, cfg.port), timeout=10).close()
    except OSError as e:
        raise BadInput(
            f"target {cfg.name} at {cfg.host}:{cfg.port} is unreachable ({e.strerror or e}); is it running?"
        ) from None
    return sessions, n


def register(app: typer.Typer) -> None:
    @app.command("fuzz")
    def fuzz_cmd(
        target: Annotated[
            str | None,
            typer.Option("--target", help="HOST:PORT of the target's FIX acceptor (else the file's)"),
        ] = None,
        sessions: Annotated[
            Path | None, typer.Option("--sessions", help="the target's sessions TOML (docs/external.md)")
        ] = None,
        seed: Annotated[
            str, typer.Option("--seed", help="hypothesis seed: the same seed tries the same flows")
        ] = "0",
        budget: Annotated[int, typer.Option("--budget", help="flows to try before giving up")] = 100,
        out_dir: Annotated[Path, typer.Option("--out", help="where a found scenario is written")] = Path(
            "out/fuzz"
        ),
        instrument: Annotated[
            str, typer.Option("--instrument", help="the instrument the flows trade")
        ] = "XTKS:7203",
        touch: Annotated[str, typer.Option("--touch", help="the price the flows trade around")] = "2500",
    ) -> None:
        """Fuzz an external target against Chronex's engine; write a minimal scenario for a difference."""
        path, n = _check(sessions, target, seed, budget)
        try:
            import hypothesis  # noqa: F401
        except ImportError:
            raise BadInput("chronex fuzz needs hypothesis: pip install 'chronex[fuzz]'") from None
        from steps.errors import StepInputError
        from steps.fuzz import FuzzBroke, fuzz

        def progress(k: int) -> None:
            if k == 1 or k % 10 == 0:
                out.print(f"flow {k} ...")

        try:
            res = fuzz(path, target=target, seed=n, budget=budget, instrument=instrument, touch=touch,
                       progress=progress)  # fmt: skip
        except StepInputError as e:
            raise BadInput(str(e)) from None
        except FuzzBroke as e:
            raise CheckFailed(str(e)) from None
        if not res.found:
            out.print(f"no difference in {res.examples} flows (seed {n}, budget {budget})")
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / f"fuzz-seed-{n}.feature"
        dest.write_text(res.feature, encoding="utf-8")
        out.print(res.error, markup=False)
        out.print(f"\nminimal flow ({len(res.steps)} steps) after {res.examples} flows; scenario: {dest}")
        raise CheckFailed(f"the target differs from the reference: {dest}")
