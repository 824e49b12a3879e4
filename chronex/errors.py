"""Errors the CLI turns into one clear line and an exit code (0 ok, 1 a check failed, 2 bad input)."""

from __future__ import annotations


class BadInput(Exception):
    """The user gave a value we cannot use. The message names the value; the CLI exits 2."""


class CheckFailed(Exception):
    """A check the user asked for did not pass (a log that does not verify). Exit 1."""
