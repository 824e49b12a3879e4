"""behave loads this file; the steps themselves live once in the ``steps`` package."""

from steps.behave_adapter import bind

bind()
