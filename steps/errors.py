"""The two ways a step fails on purpose: a bad argument in the scenario, or an expectation that
did not hold (``AssertionError``). ``StepFailed`` is what the adapters show: one message, no
traceback from deep inside."""

from __future__ import annotations


class StepInputError(ValueError):
    """A value in the scenario cannot be used; the message names the value."""


class StepFailed(AssertionError):
    """A step failed; the message says which step, why, and where the scenario's log was kept."""


class DriverUnavailable(RuntimeError):
    """The selected driver cannot do this (yet): the message says what is missing."""
