"""``chronex steps``: the Gherkin vocabulary, from the step registry."""

from __future__ import annotations

from typing import Annotated

import typer

from chronex.errors import CheckFailed


def register(app: typer.Typer) -> None:
    @app.command("steps")
    def steps_cmd(
        grep: Annotated[
            str | None, typer.Option("--grep", help="only steps whose text, doc or example contain WORD")
        ] = None,
        as_markdown: Annotated[
            bool, typer.Option("--markdown", help="the Markdown of docs/steps.md")
        ] = False,
    ) -> None:
        """Print every step with its parameters and an example."""
        from steps import catalogue

        if as_markdown:
            typer.echo(catalogue.markdown(), nl=False)
            return
        out = catalogue.text(grep)
        if not out.strip():
            raise CheckFailed(f"no step matches {grep!r}")
        typer.echo(out, nl=False)
