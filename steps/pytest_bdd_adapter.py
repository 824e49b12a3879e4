"""Binds the step registry to pytest-bdd. Load it as a plugin (the root conftest.py does), then any
test module calling ``pytest_bdd.scenarios(...)`` runs the features. Options: ``--driver NAME``
(or CHRONEX_DRIVER). Scenarios tagged ``@demo_failure`` run only when ``-m`` names that tag."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_bdd import given, parsers, step, then, when

from steps.context import Scenario
from steps.drivers import check_driver, driver_name
from steps.errors import StepFailed, StepInputError
from steps.recorder import Recorder
from steps.registry import StepDef, load, run_step

DEMO_TAGS = ("demo_failure",)
_DECORATORS: dict[str, Callable[..., Any]] = {"given": given, "when": when, "then": then, "step": step}
_P = inspect.Parameter


def _bind(sd: StepDef) -> Callable[..., None]:
    names = [n for n, _ in sd.fields]

    def run(chronex_ctx: Scenario, datatable: Any = None, docstring: str | None = None, **kw: Any) -> None:
        __tracebackhide__ = True
        keyword, text = chronex_ctx.bag.get("step", ("step", ""))
        try:
            run_step(sd, chronex_ctx, keyword, text, {n: kw[n] for n in names}, datatable, docstring)
            return
        except StepFailed as e:
            message = str(e)
        pytest.fail(message, pytrace=False)  # outside the except: no "during handling" chain

    params = [_P("chronex_ctx", _P.POSITIONAL_OR_KEYWORD)]
    params += [_P(n, _P.POSITIONAL_OR_KEYWORD) for n in names]
    params += [_P("datatable", _P.POSITIONAL_OR_KEYWORD, default=None)]
    params += [_P("docstring", _P.POSITIONAL_OR_KEYWORD, default=None)]
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__name__ = f"step_{sd.func.__name__}"
    return run


# Registered at import, in this module's namespace: pytest-bdd finds steps among the fixtures of
# the plugin that defines them.
for _sd in load():
    _DECORATORS[_sd.keyword](parsers.re(_sd.regex.pattern))(_bind(_sd))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--driver", default=None, help="how steps reach the system: inprocess, fix or rest (CHRONEX_DRIVER)"
    )


_config: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    try:
        check_driver(driver_name(config.getoption("--driver", None)))
    except StepInputError as e:
        raise pytest.UsageError(str(e)) from None
    _config[:] = [config]


def pytest_unconfigure(config: pytest.Config) -> None:
    _config.clear()


def pytest_bdd_apply_tag(tag: str, function: Callable[..., Any]) -> None:
    """Register every feature tag as a marker before pytest-bdd applies it, so a suite's own tags
    (@team-x, @JIRA-123) never trip pytest's unknown-marker check; then let the default apply it."""
    if _config:
        _config[0].addinivalue_line("markers", f"{tag}: feature tag")


def _template(item: pytest.Item | None) -> Any:
    """The scenario (pytest-bdd's template) a test item runs, or None for another test."""
    # pytest-bdd keeps each test function's scenario in a registry (no attribute on the function)
    # (the module by name: the package's attribute ``scenario`` is the function of that name)
    module = importlib.import_module("pytest_bdd.scenario")
    registry = getattr(module, "scenario_wrapper_template_registry", None)
    fn = getattr(item, "function", None)
    return registry.get(fn) if registry is not None and fn is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from steps.drivers import skip_reason
    from steps.featurecheck import check

    # pytest-bdd keeps one of two scenarios that share a name, silently: refuse the run instead
    # (``chronex run`` says so before either runner starts).
    wrong = check(sorted({str(t.feature.filename) for t in map(_template, items) if t is not None}))
    if wrong:
        raise pytest.UsageError("\n".join(wrong))
    driver = config.getoption("--driver", None)
    for it in items:  # every tag of the scenario at once: some skips depend on two of them
        reason = skip_reason(driver, {m.name for m in it.iter_markers()})
        if reason is not None:
            it.add_marker(pytest.mark.skip(reason=reason))
            _items[it.nodeid] = it
    expr = config.getoption("-m", "") or ""
    if any(t in expr for t in DEMO_TAGS):
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for it in items:
        (drop if any(it.get_closest_marker(t) for t in DEMO_TAGS) else keep).append(it)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A scenario skipped before it ran (a driver's skip by tag) never reaches the scenario hooks:
    record it here, so the summary and the report count it as behave's do."""
    if not (report.when == "setup" and report.skipped) or not os.environ.get("CHRONEX_REPORT_DIR"):
        return
    tpl = _template(_items.pop(report.nodeid, None))
    if tpl is None:
        return
    loc = f"{tpl.feature.rel_filename}:{tpl.line_number}"
    tags = sorted(set(tpl.tags) | set(getattr(tpl.feature, "tags", ())))  # the feature's tags too
    rec = Recorder(tpl.feature.name, tpl.name, tags, "pytest-bdd", loc)
    rec.write(rec.finish(None, "skipped"))


_items: dict[str, pytest.Item] = {}  # skipped scenarios by node id, for pytest_runtest_logreport


@pytest.fixture
def chronex_ctx(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    """A fresh scenario context (fresh system, own log) per scenario."""
    ctx = Scenario(driver_name=request.config.getoption("--driver", None))
    yield ctx
    rec: Recorder | None = ctx.bag.get("recorder")
    if rec is not None:
        rec.write(rec.finish(ctx))
    ctx.close()


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    ctx: Scenario = request.getfixturevalue("chronex_ctx")
    ctx.name, ctx.feature, ctx.tags = scenario.name, feature.name, tuple(sorted(scenario.tags))
    loc = f"{feature.rel_filename}:{scenario.line_number}"
    ctx.bag["recorder"] = Recorder(feature.name, scenario.name, sorted(scenario.tags), "pytest-bdd", loc)


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    ctx: Scenario = request.getfixturevalue("chronex_ctx")
    ctx.bag["step"] = (step.type, step.name)
    rec: Recorder | None = ctx.bag.get("recorder")
    if rec is not None:
        rec.step_started(step.keyword, step.name)


def pytest_bdd_after_step(request: pytest.FixtureRequest, **_: Any) -> None:
    rec: Recorder | None = request.getfixturevalue("chronex_ctx").bag.get("recorder")
    if rec is not None:
        rec.step_ended("passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest, exception: BaseException, **_: Any) -> None:
    rec: Recorder | None = request.getfixturevalue("chronex_ctx").bag.get("recorder")
    if rec is not None:
        rec.step_ended("failed", str(exception))


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
    ctx: Scenario = request.getfixturevalue("chronex_ctx")
    rec: Recorder | None = ctx.bag.get("recorder")
    if rec is not None:
        rec.step_started(step.keyword, step.name)
        rec.step_ended("undefined", f"no step matches: {step.keyword} {step.name}")
