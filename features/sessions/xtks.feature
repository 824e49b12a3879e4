@sessions @xtks @needs-control
Feature: A Tokyo Stock Exchange day
  The calendar drives the phases: pre-open from 08:00, the opening auction and continuous trading
  at 09:00, the lunch break from 11:30, the afternoon pre-open at 12:05 and open at 12:30, the
  closing auction from 15:25 and the close at 15:30 (15:00 before 2024-11-05).

  Background:
    Given it is 2027-01-04 on XTKS
    And the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500

  @needs-events
  Scenario Outline: The phase at each time of the day
    When the clock advances to <time>
    Then XTKS:7203 is in the <phase> phase

    Examples:
      | time  | phase           |
      | 07:59 | CLOSED          |
      | 08:00 | PRE_OPEN        |
      | 09:00 | CONTINUOUS      |
      | 11:29 | CONTINUOUS      |
      | 11:30 | BREAK           |
      | 12:05 | PRE_OPEN        |
      | 12:30 | CONTINUOUS      |
      | 15:25 | CLOSING_AUCTION |
      | 15:30 | CLOSED          |

  Scenario: Orders are refused before the venue opens its book
    When alice buys 100 XTKS:7203 at 2500
    Then the order is rejected with reason WRONG_PHASE

  # @reference-only: reads the venue's own PhaseChanged entries from the log
  @reference-only
  Scenario: The opening auction at 09:00 uncrosses the pre-open book
    Given the time is 08:30
    And alice buys 100 XTKS:7203 at 2501 as a1
    And bob sells 100 XTKS:7203 at 2499 as b1
    When the clock advances to 09:00
    Then the auction of XTKS:7203 uncrossed at 2500 for 100
    And the log contains, in order:
      | event            | phase           | time     |
      | PhaseChanged     | OPENING_AUCTION | 09:00:00 |
      | AuctionUncrossed | OPENING_AUCTION | 09:00:00 |
      | PhaseChanged     | CONTINUOUS      | 09:00:00 |

  @needs-events
  Scenario: The lunch break holds orders until the afternoon auction
    Given the time is 10:00
    And mm sells 100 XTKS:7203 at 2500 as m1
    When the clock advances to the lunch break
    Then the time is 11:30
    And XTKS:7203 is in the BREAK phase
    When alice buys 100 XTKS:7203 at 2500 as a1
    Then no trade happens
    And order a1 is open with 100 left
    When the clock advances to the afternoon session
    Then the time is 12:30
    And a trade of 100 XTKS:7203 at 2500 happens
    And order m1 is filled

  @needs-events
  Scenario: DAY orders expire at the close; GTC orders carry over to the next day
    Given the time is 14:00
    And alice buys 100 XTKS:7203 at 2490 as d1
    And alice buys 100 XTKS:7203 at 2480 GTC as g1
    When the clock advances to the close
    Then the time is 15:30
    And order d1 is expired by DAY
    And order g1 is open with 100 left
    When the clock advances to the next trading day
    Then the date is 2027-01-05
    And the time is 09:00
    And order g1 is open with 100 left
    And XTKS:7203 is in the CONTINUOUS phase

  @needs-events
  Scenario: The closing auction collects orders for five minutes
    Given the time is 15:20
    And alice buys 100 XTKS:7203 at 2500 as a1
    When the clock advances to the closing auction
    And bob sells 100 XTKS:7203 at 2500 as b1
    Then no trade happens
    When 5 minutes pass
    Then XTKS:7203 is in the CLOSED phase
    And the auction of XTKS:7203 uncrossed at 2500 for 100

  @past
  Scenario: Before November 2024 the afternoon session ended at 15:00
    Given it is 2024-11-01 on XTKS
    When the clock advances to 14:00
    And the clock advances to the close
    Then the time is 15:00
