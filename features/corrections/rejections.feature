@corrections @xtks @reference-only
Feature: A bad correction is rejected with its reason
  Corrections are checked against the trades of the day: an unknown or already busted trade, a
  quantity that is not positive, a late trade in the future are refused, and the log says why.

  Background:
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And bob sells 100 XTKS:7203 at 2500 as s1
    And alice buys 100 XTKS:7203 at 2500 as b1

  Scenario Outline: <what> is rejected
    When <correction>
    Then the correction is rejected: <reason>
    And as of 10:30, the position of alice in XTKS:7203 is 100

    Examples:
      | what                        | correction                                                                              | reason                             |
      | Busting an unknown trade    | trade #99 is busted at 16:05                                                            | unknown trade id 99                |
      | Correcting an unknown trade | the price of trade #42 is corrected to 2490 at 16:05                                    | unknown trade id 42                |
      | A zero quantity             | the quantity of trade 1 of XTKS:7203 is corrected to 0 at 16:05                         | must be positive                   |
      | A late trade in the future  | a late trade is reported at 10:30: alice bought 100 XTKS:7203 at 2500 from bob at 11:00 | a late trade cannot be in the future |

  Scenario: A trade cannot be busted twice
    When trade 1 of XTKS:7203 is busted at 16:05
    Then the correction is accepted
    When trade 1 of XTKS:7203 is busted at 16:10
    Then the correction is rejected: trade 1 is already busted
    And as of 10:30, the position of alice in XTKS:7203 is 0
