@replay @xtks @reference-only
Feature: Replaying the day from its log
  Every state is a fold over the log, so replaying the log to any instant rebuilds the books
  exactly as they were live at that instant.

  Background:
    Given it is 2027-01-04 08:30 on XTKS
    And the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And the XTKS:7203 book has:
      | name | account | side | price | qty |
      | b1   | alice   | buy  | 2501  | 300 |
      | s1   | bob     | sell | 2499  | 100 |
      | s2   | bob     | sell | 2502  | 200 |

  Scenario: The replayed book at 10:30 equals the live book at 10:30
    Given the time is 10:00
    And carol sells 100 XTKS:7203 at 2501 as c1
    And the time is 10:30
    And dave buys 100 XTKS:7203 at 2500 as d1
    When the clock advances to 11:00
    And erin sells 100 XTKS:7203 at 2500
    And the day is replayed to 10:30 Asia/Tokyo
    Then the replayed book equals the book at 10:30
    And the replayed XTKS:7203 book is:
      | bid qty | bid  | ask  | ask qty |
      | 100     | 2501 | 2502 | 200     |
      | 100     | 2500 |      |         |

  Scenario: Replaying to before the open shows the pre-open book
    When the clock advances to 09:30
    And the day is replayed to 08:45
    Then the replayed XTKS:7203 book is:
      | bid qty | bid  | ask  | ask qty |
      | 300     | 2501 | 2499 | 100     |
      |         |      | 2502 | 200     |
    And the replayed book equals the book at 08:45

  Scenario: Replaying across the opening auction matches the live book after it
    When the clock advances to 09:30
    And the day is replayed to 09:00
    Then the replayed book equals the book at 09:00
    And the replayed XTKS:7203 book is:
      | bid qty | bid  | ask  | ask qty |
      | 200     | 2501 | 2502 | 200     |

  Scenario: The book at an earlier time is kept as it was
    Given the time is 10:00
    And carol sells 200 XTKS:7203 at 2501
    When the clock advances to 10:15
    Then the XTKS:7203 book at 09:30 was:
      | bid qty | bid  | ask  | ask qty |
      | 200     | 2501 | 2502 | 200     |
    And the XTKS:7203 book is:
      | bid qty | bid | ask  | ask qty |
      |         |     | 2502 | 200     |
    And the log verifies

  Scenario: A replay equals the book captured live earlier in the scenario
    Given the time is 10:00
    And carol sells 100 XTKS:7203 at 2501 as c1
    When the XTKS:7203 book is captured as at_ten
    Then the XTKS:7203 book equals the book captured as at_ten
    When the clock advances to 10:30
    And dave buys 100 XTKS:7203 at 2502 as d1
    And the day is replayed to 10:15
    Then the replayed XTKS:7203 book equals the book captured as at_ten
