"""An equities OEMS in the Tora style: custom-tag FIX profile, routing to chronex serve (docs/mocks.md)."""

from mocks.oems.mock import DEFAULT_PROFILE, CustomTag, OemsMock

__all__ = ["DEFAULT_PROFILE", "CustomTag", "OemsMock"]
