"""Binds the step registry to behave. ``features/steps/chronex_steps.py`` calls ``bind()`` and
``features/environment.py`` calls the hooks below, so each scenario gets a fresh context.

``ChronexRunner`` (``behave --runner steps.behave_adapter:ChronexRunner``, what ``chronex run``
uses) needs neither file: it binds the steps and the hooks itself, so a folder of ``.feature``
files runs as it is, from any working folder. A suite's own ``steps/`` and ``environment.py`` still
load; its hooks run after chronex's ``before_*`` hooks and before its ``after_*`` hooks."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

from steps.context import Scenario
from steps.drivers import check_driver, driver_name, skip_reason
from steps.errors import StepFailed
from steps.recorder import FAILING, Recorder
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
    # behave runs no step hooks for a step nothing matches: record it, so the report shows it.
    for step in scenario.all_steps:
        st = step.status.name if hasattr(step.status, "name") else str(step.status)
        if st == "undefined":
            rec.step_started(step.keyword, step.name)
            rec.step_ended("undefined", f"no step matches: {step.keyword} {step.name}")
    if status in FAILING and ctx.kept is None:
        ctx.keep_log()
    rec.write(rec.finish(ctx, status))
    ctx.close()


HOOKS: dict[str, Callable[..., None]] = {
    "before_all": before_all,
    "before_scenario": before_scenario,
    "before_step": before_step,
    "after_step": after_step,
    "after_scenario": after_scenario,
}


def _both(ours: Callable[..., None], theirs: Callable[..., None], before: bool) -> Callable[..., None]:
    def hook(*args: Any) -> None:
        first, second = (ours, theirs) if before else (theirs, ours)
        first(*args)
        second(*args)

    return hook


@cache
def _runner_class() -> type[Any]:
    from behave.exception import ConfigError
    from behave.runner import Runner
    from behave.runner_util import load_step_modules

    class ChronexRunner(Runner):  # type: ignore[misc]
        """behave's runner with chronex's steps and hooks built in."""

        def setup_paths(self) -> None:
            try:
                super().setup_paths()
                return
            except ConfigError as e:
                if not str(e).startswith(f"No {self.config.steps_dir} directory"):
                    raise
            # No glue files anywhere above the features: the first path given is the base.
            first = str(getattr(self.config.paths[0], "filename", self.config.paths[0]))
            base = os.path.abspath(first.lstrip("@"))
            if os.path.isfile(base):
                base = os.path.dirname(base)
            self.config.base_dir = self.base_dir = base
            self.path_manager.add(base)
            if base != os.getcwd():
                self.path_manager.add(os.getcwd())

        def load_hooks(self, filename: str | None = None) -> None:
            super().load_hooks(filename)
            for name, ours in HOOKS.items():
                theirs = self.hooks.get(name)
                if theirs is None or theirs is ours:
                    self.hooks[name] = ours
                else:
                    self.hooks[name] = _both(ours, theirs, name.startswith("before"))

        def load_step_definitions(self, extra_step_paths: list[str] | None = None) -> None:
            if os.path.isdir(os.path.join(self.base_dir, self.config.steps_dir)):
                super().load_step_definitions(extra_step_paths)
            elif extra_step_paths:
                load_step_modules(extra_step_paths)
            bind()

    return ChronexRunner


def __getattr__(name: str) -> Any:
    # Built on first use: importing behave's runner is not free and most importers only bind steps.
    if name == "ChronexRunner":
        return _runner_class()
    raise AttributeError(name)
