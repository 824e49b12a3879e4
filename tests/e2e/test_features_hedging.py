"""The hedging features under pytest-bdd with in-process hedge venues (the same files behave runs)."""

from pathlib import Path

from pytest_bdd import scenarios

scenarios(str(Path(__file__).resolve().parents[2] / "features" / "hedging"))
