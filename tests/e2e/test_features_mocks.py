"""The retail mock features under pytest-bdd (the same files behave runs)."""

from pathlib import Path

from pytest_bdd import scenarios

scenarios(str(Path(__file__).resolve().parents[2] / "features" / "mocks"))
