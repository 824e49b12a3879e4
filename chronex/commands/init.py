"""``chronex init DIR``: a starter scenario suite for a team that keeps its scenarios in its own repo.

``chronex run DIR/features`` needs none of these files; they are for running the same folder with
plain ``behave`` or ``pytest`` (an IDE, an existing CI job). Nothing is overwritten: when any file
exists already, nothing is written and the command exits 2 naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chronex.errors import BadInput

ENVIRONMENT = '''"""behave hooks: Chronex gives each scenario a fresh system and its own log.

Add your own hooks below; call Chronex's first in before_* hooks and last in after_* hooks."""

from steps.behave_adapter import after_scenario, after_step, before_all, before_scenario, before_step

__all__ = ["after_scenario", "after_step", "before_all", "before_scenario", "before_step"]
'''

BEHAVE_STEPS = '''"""behave loads this file: it binds Chronex's step library (see `chronex steps`).
Put your own step modules beside it."""

from steps.behave_adapter import bind

bind()
'''

CONFTEST = '''"""pytest-bdd finds Chronex's steps and per-scenario fixtures in this plugin."""

pytest_plugins = ("steps.pytest_bdd_adapter",)
'''

TEST_MODULE = '''"""Every feature under features/ as pytest tests (pytest-bdd)."""

from pathlib import Path

from pytest_bdd import scenarios

scenarios(str(Path(__file__).resolve().parent / "features"))
'''

PYTEST_INI = """[pytest]
testpaths = .
addopts = -p no:cacheprovider
filterwarnings =
    ignore::DeprecationWarning:exchange_calendars.*
    ignore::FutureWarning:exchange_calendars.*
"""

SAMPLE = """@sample
Feature: A first scenario suite
  Each scenario gets a fresh system at 2027-01-04 10:00 Tokyo, every venue trading, unless a step
  says otherwise. `chronex steps --grep WORD` lists the vocabulary.

  Scenario: A crossing order trades at the resting price
    Given the instrument XTKS:7203
    And mm sells 300 XTKS:7203 at 2,501 as m1
    When alice buys 100 XTKS:7203 at 2,502 as a1
    Then the trades are:
      | price | qty | buyer | seller | aggressor |
      | 2501  | 100 | alice | mm     | buy       |
    And the XTKS:7203 book is:
      | side | price | qty |
      | sell | 2501  | 200 |

  @calendar
  Scenario: The Tokyo calendar without running the clock
    Then XTKS has no session on 2027-01-01
    And the session of XTKS on 2027-01-04 is:
      | open  | close | breaks      |
      | 09:00 | 15:30 | 11:30-12:30 |
"""

README = """# Trading scenarios

Gherkin scenarios run by [Chronex](https://example.invalid/chronex) against its matching, risk and
pricing on a virtual clock.

```sh
chronex run features                      # under behave; reports in out/ (--report DIR)
chronex run features --runner pytest      # the same files under pytest-bdd (parallel with --jobs)
chronex run features --tags @calendar     # a tag expression; any tag of your own works
chronex steps --grep book                 # the step vocabulary
```

`chronex run` needs only the `.feature` files. The other files let plain tools run the folder too:

- `features/environment.py` and `features/steps/chronex_steps.py`: `behave features`
- `conftest.py`, `test_features.py` and `pytest.ini`: `pytest`

A failing step prints expected and actual side by side and keeps the scenario's event log under
`out/failed/`; inspect it with `chronex log show FILE` or replay it with `chronex replay`.
"""

FILES: dict[str, str] = {
    "features/environment.py": ENVIRONMENT,
    "features/steps/chronex_steps.py": BEHAVE_STEPS,
    "features/sample.feature": SAMPLE,
    "conftest.py": CONFTEST,
    "test_features.py": TEST_MODULE,
    "pytest.ini": PYTEST_INI,
    "README.md": README,
}


def init(
    folder: Annotated[Path, typer.Argument(help="where the suite goes (created if missing)")],
) -> None:
    """Write a starter scenario suite (a sample feature, glue for behave and pytest, a README)."""
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder} is a file, not a folder")
    clash = [name for name in FILES if (folder / name).exists()]
    if clash:
        raise BadInput(f"{folder / clash[0]} already exists; nothing was written (choose an empty folder)")
    written: list[Path] = []
    for name, text in FILES.items():
        path = folder / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            for done in written:  # a suite is written whole or not at all
                done.unlink(missing_ok=True)
            raise BadInput(f"cannot write {path}: {e.strerror or e}; nothing was written") from None
        written.append(path)
    typer.echo(f"Wrote a starter suite in {folder}:")
    for name in FILES:
        typer.echo(f"  {name}")
    typer.echo(f"Run it:  chronex run {folder / 'features'}   (or --runner pytest)")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
