"""The deliberately failing demo features: deselected unless ``-m demo_failure`` is given."""

from pathlib import Path

from pytest_bdd import scenarios

scenarios(str(Path(__file__).resolve().parents[2] / "features" / "demo"))
