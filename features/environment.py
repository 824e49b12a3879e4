"""behave hooks: a fresh scenario context (system, log, recorder) per scenario."""

from steps.behave_adapter import after_scenario, after_step, before_all, before_scenario, before_step

__all__ = ["after_scenario", "after_step", "before_all", "before_scenario", "before_step"]
