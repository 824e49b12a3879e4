@sessions @cme @needs-control
Feature: CME Globex trades over midnight
  An equity index future's session opens at 17:00 Chicago on the evening before its trade date and
  closes at 16:00; the hour between is the daily maintenance break.

  Background:
    Given it is 2027-01-04 on CME
    And the instrument CME:ESH7

  @needs-events
  Scenario: At midnight the session that opened on Sunday evening is trading
    Then CME:ESH7 is in the CONTINUOUS phase
    And the trade date on CME is 2027-01-04

  Scenario: An order from before midnight trades with one from after it
    Given the time is 23:30
    And mm sells 2 CME:ESH7 at 5000 GTC as m1
    When the clock advances to 2027-01-05 00:30
    And alice buys 2 CME:ESH7 at 5000 as a1
    Then a trade of 2 CME:ESH7 at 5000 happens
    And the trade date on CME is 2027-01-05

  @needs-events
  Scenario: The maintenance break from 16:00 to 17:00
    Given the time is 15:00
    When the clock advances to the close
    Then the time is 16:00
    And CME:ESH7 is in the CLOSED phase
    When the clock advances to the open
    Then the time is 17:00
    And CME:ESH7 is in the CONTINUOUS phase
    And the trade date on CME is 2027-01-05

  Scenario: DAY orders end with the 16:00 close; GTC orders stay for the evening session
    Given the time is 15:00
    And alice buys 1 CME:ESH7 at 4990 as d1
    And alice buys 1 CME:ESH7 at 4980 GTC as g1
    When the clock advances to 17:00
    Then order d1 is expired by DAY
    And order g1 is open with 1 left
