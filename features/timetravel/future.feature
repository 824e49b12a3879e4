@timetravel @xtks @reference-only
Feature: Time travel to future dates
  Scenarios run on any date the calendars cover (to 2035), with the holidays and sessions that
  date will have under today's rules.

  Scenario: The last trading day of 2031
    Given it is 2031-12-30 on XTKS
    And the instrument XTKS:7203
    When the clock advances to 09:30
    Then XTKS:7203 is in the CONTINUOUS phase
    Given mm sells 100 XTKS:7203 at 2500
    When alice buys 100 XTKS:7203 at 2500
    Then a trade of 100 XTKS:7203 at 2500 happens

  Scenario: A future holiday: the exchange is closed on New Year's Eve 2031
    Given it is 2031-12-31 on XTKS
    And the instrument XTKS:7203
    When the clock advances to 10:00
    Then XTKS:7203 is in the CLOSED phase
    When alice buys 100 XTKS:7203 at 2500
    Then the order is rejected with reason WRONG_PHASE

  Scenario: After the year-end holidays trading resumes on 2032-01-05
    Given it is 2031-12-30 14:00 on XTKS
    And the instrument XTKS:7203
    When the clock advances to the close
    And the clock advances to the next trading day
    Then the date is 2032-01-05
    And XTKS:7203 is in the CONTINUOUS phase

  Scenario Outline: Which future dates trade on XTKS
    Then XTKS <has> on <date>

    Examples:
      | date       | has           |
      | 2031-01-13 | has no session |
      | 2031-01-14 | has a session  |
      | 2031-05-06 | has no session |
      | 2031-12-30 | has a session  |
      | 2031-12-31 | has no session |

  @cme
  Scenario: Across the 2031 daylight-saving change Globex keeps Chicago hours
    Given it is 2031-03-09 12:00 on CME
    And the instrument CME:NQH1
    When the clock advances to the open
    Then the time is 17:00 America/Chicago
    And the time is 22:00 UTC
    And CME:NQH1 is in the CONTINUOUS phase
