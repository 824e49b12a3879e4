"""Market makers: FIX initiators quoting into ``chronex serve`` around a fair value (docs/mocks.md)."""

from mocks.makers.mock import DEFAULT_PROFILE, MakersMock
from mocks.makers.policy import Quote, QuotePolicy

__all__ = ["DEFAULT_PROFILE", "MakersMock", "Quote", "QuotePolicy"]
