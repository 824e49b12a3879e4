@replay @rebase @xtks @timetravel @reference-only
Feature: Rebasing the day's order flow onto another date
  The recorded flow keeps its venue-local times on the new date, under that date's calendar: a
  holiday keeps the market closed and rejects every order; a normal day makes the same trades.

  Background:
    Given it is 2027-01-04 08:30 on XTKS
    And the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And these orders are submitted:
      | name | account | side | qty | price |
      | b1   | alice   | buy  | 300 | 2501  |
      | s1   | bob     | sell | 100 | 2499  |
    And the time is 10:00
    And carol sells 100 XTKS:7203 at 2501 as c1
    And the time is 13:00
    And dave sells 100 XTKS:7203 at 2500 as d1
    And the time is 15:45

  Scenario: Onto a normal future day, the same trades at the same local times
    When the day's order flow is rebased onto 2031-12-30
    Then the rebased day has the same trades as the original
    And the rebased trades are:
      | price | qty | buyer | seller | buy order | sell order | date       | time     |
      | 2500  | 100 | alice | bob    | b1        | s1         | 2031-12-30 | 09:00:00 |
      | 2501  | 100 | alice | carol  | b1        | c1         | 2031-12-30 | 10:00:00 |
      | 2501  | 100 | alice | dave   | b1        | d1         | 2031-12-30 | 13:00:00 |

  Scenario Outline: Onto <day>, the market is closed and the flow is rejected
    When the day's order flow is rebased onto <date>
    Then every rebased order is rejected with reason WRONG_PHASE
    And the rebased day has no trades

    Examples:
      | day                | date       |
      | New Year's Eve     | 2031-12-31 |
      | New Year's Day     | 2032-01-01 |
      | a Saturday         | 2031-12-27 |
