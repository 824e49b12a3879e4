@makers @xtks
Feature: Market makers widening on a fast market
  Market makers quote around a fair value. When the market turns fast they widen their quotes to
  protect themselves, and narrow them again when it calms. Several compete: the narrowest holds
  the touch.

  Background:
    Given the instrument XTKS:7203
    And XTKS is in the CONTINUOUS phase
    And 3 market makers quote XTKS:7203 around 2850 every 500 ms, 2 ticks a side at the narrowest

  Scenario: Makers widen in a fast market and narrow after it
    When the market makers quote for 30 seconds
    Then every market maker's spread is at most 12 ticks
    And market maker mm1 holds the best bid and offer of XTKS:7203
    When the market turns fast, volatility x 8, for 30 seconds
    Then every market maker's spread is wider than before the fast market
    When the market makers quote for 3 minutes
    Then every market maker's spread is narrower than at the end of the fast market

  Scenario: A calm market keeps the narrowest maker at the touch
    When the market makers quote for 1 minute
    Then market maker mm1 holds the best bid and offer of XTKS:7203
    And every market maker's spread is at most 12 ticks
