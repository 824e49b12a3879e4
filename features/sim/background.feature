# @inprocess: the simulators are simpy processes attached to the world in this process.
@sim @xtks @inprocess
Feature: Simulated markets in the background
  Market makers, noise and momentum traders (sim.markets) trade on the scenario's clock through the
  same command path as the scenario's own orders.

  Background:
    Given it is 2027-01-04 08:55 on XTKS
    And a simulated XTKS market in 7203 with seed 7

  Scenario: The simulated open is lively and orderly
    When the clock advances to 09:05
    Then XTKS:7203 has traded
    And the log contains a AuctionUncrossed
    And the XTKS:7203 book is not crossed

  Scenario: A scenario's order trades against the simulated market makers
    When the clock advances to 09:05
    And alice buys 100 XTKS:7203 at market as a1
    Then order a1 is filled
    And the XTKS:7203 book is not crossed

  Scenario: Wider spreads from the market makers
    When the clock advances to 09:02
    And the market makers widen their spreads to 5 ticks
    And 2 minutes pass
    Then the XTKS:7203 book is not crossed
