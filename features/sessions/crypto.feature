@sessions @crypto @needs-control
Feature: Crypto trades around the clock with a daily cut at 00:00 UTC

  Background:
    Given it is 2027-01-09 23:00 on CRYPTO
    And the instrument CRYPTO:BTC/JPY

  @needs-events
  Scenario: Crypto trades on a Saturday night
    Then CRYPTO:BTC/JPY is in the CONTINUOUS phase
    Given mm sells 0.5 CRYPTO:BTC/JPY at 15000000
    When alice buys 0.5 CRYPTO:BTC/JPY at 15000000
    Then a trade of 0.5 CRYPTO:BTC/JPY at 15000000 happens

  # @reference-only: reads the venue's own PhaseChanged entries from the log
  @reference-only
  Scenario: DAY orders end at the daily cut; trading resumes at once
    Given alice buys 0.1 CRYPTO:BTC/JPY at 14900000 as d1
    And alice buys 0.1 CRYPTO:BTC/JPY at 14800000 GTC as g1
    When 1 hour passes
    Then the date is 2027-01-10
    And order d1 is expired by DAY
    And order g1 is open
    And CRYPTO:BTC/JPY is in the CONTINUOUS phase
    And the log contains, in order:
      | event        | phase      | time     |
      | PhaseChanged | CLOSED     | 00:00:00 |
      | OrderExpired |            | 00:00:00 |
      | PhaseChanged | CONTINUOUS | 00:00:00 |
