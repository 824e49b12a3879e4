@corrections @xtks @reference-only
Feature: Correcting a trade, reporting a late trade, correcting a price
  Each amendment counts from the time it amends in the corrected view, and only from when it was
  recorded in a view "as known at" an earlier time.

  Background:
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And bob sells 100 XTKS:7203 at 2500 as s1
    And alice buys 100 XTKS:7203 at 2500 as b1
    And the time is 10:15
    And bob sells 100 XTKS:7203 at 2510 as s2
    And carol buys 100 XTKS:7203 at 2510 as c1

  Scenario: Correcting a trade's price changes the P&L of both sides
    When the price of trade 1 of XTKS:7203 is corrected to 2490 at 16:05
    Then the correction is accepted
    And as of 15:00, as known at 16:00, the P&L of alice in XTKS:7203 is 1000
    And as of 15:00, the P&L of alice in XTKS:7203 is 2000
    And as of 15:00, the positions are:
      | account | instrument | qty  | avg price |
      | alice   | XTKS:7203  | 100  | 2490      |
      | bob     | XTKS:7203  | -200 | 2500      |
      | carol   | XTKS:7203  | 100  | 2510      |

  Scenario Outline: Correcting a trade's quantity to <qty>
    When the quantity of trade 1 of XTKS:7203 is corrected to <qty> at 16:05
    Then the correction is accepted
    And as of 15:00, the corrected positions differ from those known at 16:00 by:
      | account | instrument | known | corrected |
      | alice   | XTKS:7203  | 100   | <alice>   |
      | bob     | XTKS:7203  | -200  | <bob>     |

    Examples:
      | qty | alice | bob  |
      | 300 | 300   | -400 |
      | 200 | 200   | -300 |

  Scenario: A late trade counts from its own time in the corrected view
    When a late trade is reported at 16:05: alice bought 200 XTKS:7203 at 2490 from dave at 10:20
    Then the correction is accepted
    And as of 10:30, as known at 16:00, the position of alice in XTKS:7203 is 100
    And as of 10:30, the position of alice in XTKS:7203 is 300
    And as of 10:18, the position of alice in XTKS:7203 is 100
    And as of 10:30, the trade count is 3
    And as of 10:30, the mark of XTKS:7203 is 2490
    And as of 10:30, as known at 16:00, the mark of XTKS:7203 is 2510

  Scenario: A price correction moves the mark from its instant on
    When the published price of XTKS:7203 at 10:20 is corrected to 2520 at 16:05
    Then the correction is accepted
    And as of 10:30, as known at 16:00, the mark of XTKS:7203 is 2510
    And as of 10:30, the mark of XTKS:7203 is 2520
    And as of 10:16, the mark of XTKS:7203 is 2510
    And as of 10:30, the P&L of alice in XTKS:7203 is 2000
    And as of 10:30, as known at 16:00, the P&L of alice in XTKS:7203 is 1000
