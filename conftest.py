"""pytest-bdd finds steps among plugin fixtures: load the step library's adapter as a plugin."""

pytest_plugins = ("steps.pytest_bdd_adapter",)
