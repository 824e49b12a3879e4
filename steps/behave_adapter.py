"""Binds the step registry to behave. ``features/steps/chronex_steps.py`` calls ``bind()`` and
``features/environment.py`` calls the hooks below, so each scenario gets a fresh context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from steps.context import Scenario
from steps.drivers import check_driver, driver_name, skip_reason
from steps.errors import StepFailed
from steps.recorder import Recorder
from steps.registry import StepDef, load, run_step

_bound = False


def _bind(sd: StepDef) -> Callable[..., None]:
    def run(context: Any, **kw: Any) -> None:
        ctx: Scenario = context.chronex
        table = None
        if context.table is not None:
            table = [list(context.table.headings)] + [list(r.cells) for r in context.table.rows]
        keyword, text = ctx.bag.get("step", ("step", ""))
        try:
            run_step(sd, ctx, keyword, text, kw, table, context.text)
        except StepFailed as e:
            raise AssertionError(str(e)) from None  # behave prints an assertion's message, no traceback

    run.__name__ = f"step_{sd.func.__name__}"
    return run


def bind() -> None:
    """Register every step of the library with behave (once per process)."""
    global _bound
    if _bound:
        return
    from behave import given, step, then, use_step_matcher, when

    decorators: dict[str, Callable[..., Any]] = {"given": given, "when": when, "then": then, "step": step}
    use_step_matcher("re0")  # our patterns are already anchored regexes
    for sd in load():
        decorators[sd.keyword](sd.regex.pattern)(_bind(sd))
    use_step_matcher("parse")
    _bound = True


# -- hooks for features/environment.py ------------------------------------------------------------
def before_all(context: Any) -> None:
    context.chronex_driver = check_driver(driver_name(context.config.userdata.get("driver")))


def before_scenario(context: Any, scenario: Any) -> None:
    ctx = Scenario(
        name=scenario.name,
        feature=scenario.feature.name,
        tags=tuple(sorted(scenario.effective_tags)),
        driver_name=context.chronex_driver,
    )
    ctx.bag["recorder"] = Recorder(
        scenario.feature.name,
        scenario.name,
        sorted(scenario.effective_tags),
        "behave",
        f"{scenario.location.filename}:{scenario.location.line}",
    )
    context.chronex = ctx
    reason = skip_reason(context.chronex_driver, scenario.effective_tags)
    if reason is not None:
        scenario.skip(reason)


def before_step(context: Any, step: Any) -> None:
    ctx: Scenario = context.chronex
    ctx.bag["step"] = (step.step_type, step.name)
    ctx.bag["recorder"].step_started(step.keyword, step.name)


def after_step(context: Any, step: Any) -> None:
    status = step.status.name if hasattr(step.status, "name") else str(step.status)
    error = (step.error_message or "") if status != "passed" else ""
    context.chronex.bag["recorder"].step_ended(status, error)


def after_scenario(context: Any, scenario: Any) -> None:
    ctx: Scenario = context.chronex
    rec: Recorder = ctx.bag["recorder"]
    status = scenario.status.name if hasattr(scenario.status, "name") else str(scenario.status)
    if status == "failed" and ctx.kept is None:
        ctx.keep_log()
    rec.write(rec.finish(ctx, status))
    ctx.close()
