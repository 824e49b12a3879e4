@corrections @xtks @reference-only
Feature: Busting a trade, seen as it was known and as corrected
  A bust is logged when it is made (recorded at 16:05) but valid at the trade's own time. Asked
  "as known at 16:00", the day still holds the trade; the corrected view does not. Books are the
  same in both views: a bust revokes a trade's economic effect, not the fills.

  Background:
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And bob sells 100 XTKS:7203 at 2500 as s1
    And alice buys 100 XTKS:7203 at 2500 as b1
    And the time is 10:15
    And bob sells 100 XTKS:7203 at 2510 as s2
    And alice buys 100 XTKS:7203 at 2510 as b2

  Scenario: The two views differ exactly by the busted trade
    When trade 2 of XTKS:7203 is busted at 16:05
    Then the correction is accepted
    And as of 10:30, as known at 16:00, the position of alice in XTKS:7203 is 200
    And as of 10:30, the position of alice in XTKS:7203 is 100
    And as of 15:00, the corrected positions differ from those known at 16:00 by:
      | account | instrument | known | corrected |
      | alice   | XTKS:7203  | 200   | 100       |
      | bob     | XTKS:7203  | -200  | -100      |
    And as of 10:30, as known at 16:00, the trade count is 2
    And as of 10:30, the trade count is 1
    And as of 10:30, as known at 16:00, the mark of XTKS:7203 is 2510
    And as of 10:30, the mark of XTKS:7203 is 2500

  Scenario: Before the busted trade happened, both views agree
    When trade 2 of XTKS:7203 is busted at 16:05
    Then as of 10:10, as known at 16:00, the position of alice in XTKS:7203 is 100
    And as of 10:10, the position of alice in XTKS:7203 is 100
    And as of 10:10, the trade count is 1

  Scenario: The replayed positions, as known before the bust and corrected
    When the trade of b2 and s2 is busted at 16:05
    And the day is replayed to 15:00, as known at 16:00
    Then the replayed positions are:
      | account | instrument | qty  | avg price | mark | p&l  |
      | alice   | XTKS:7203  | 200  | 2505      | 2510 | 1000 |
      | bob     | XTKS:7203  | -200 | 2505      | 2510 | -1000 |
    When the day is replayed to 15:00
    Then the replayed positions are:
      | account | instrument | qty  | avg price | mark | p&l |
      | alice   | XTKS:7203  | 100  | 2500      | 2500 | 0   |
      | bob     | XTKS:7203  | -100 | 2500      | 2500 | 0   |
    And as of 15:00, as known at 16:00, the P&L of alice in XTKS:7203 is 1000
    And as of 15:00, the P&L of alice in XTKS:7203 is 0

  Scenario Outline: A trade can be named by number, by its orders or by its id
    When <trade> is busted at 16:05
    Then the correction is accepted
    And as of 15:00, the position of alice in XTKS:7203 is 100
    And as of 15:00, the position of bob in XTKS:7203 is -100
    And as of 15:00, as known at 16:05, the position of alice in XTKS:7203 is 100

    Examples:
      | trade                    |
      | trade 1 of XTKS:7203     |
      | the trade of b1 and s1   |
      | the trade between s1 and b1 |
      | trade #1                 |

  Scenario: The books are the same in both views
    When trade 1 of XTKS:7203 is busted at 16:05
    And the day is replayed to 10:30
    Then the replayed book equals the book at 10:30
    And the replayed XTKS:7203 book is:
      | bid qty | bid | ask | ask qty |

  Scenario Outline: What alice held as of <when>
    When trade 2 of XTKS:7203 is busted at 15:50
    Then as of <when>, the position of alice in XTKS:7203 is <qty>

    Examples: valid time x recorded time (the bust is valid at 10:15, recorded at 15:50)
      | when                     | qty |
      | 15:00, as known at 15:49 | 200 |
      | 15:00, as known at 15:50 | 100 |
      | 15:00                    | 100 |
      | 10:10, as known at 15:49 | 100 |
      | 10:10                    | 100 |
