@matching @xtks @stp
Feature: Self-trade prevention
  An order that would trade with a resting order of the same account does what its STP mode says.

  Background:
    Given the instrument XTKS:7203
    And alice sells 100 XTKS:7203 at 2500 as rest

  Scenario: Without prevention an account can trade with itself
    When alice buys 100 XTKS:7203 at 2500 as inc
    Then a trade of 100 XTKS:7203 at 2500 happens

  Scenario Outline: Prevention modes
    When alice buys 100 XTKS:7203 at 2500 stp <mode> as inc
    Then no trade happens
    And order inc is <incoming>
    And order rest is <resting>

    Examples:
      | mode          | incoming              | resting               |
      | CANCEL_NEWEST | cancelled by STP      | open with 100 left    |
      | CANCEL_OLDEST | open with 100 left    | cancelled by STP      |
      | CANCEL_BOTH   | cancelled by STP      | cancelled by STP      |
      | DECREMENT     | cancelled             | cancelled             |
