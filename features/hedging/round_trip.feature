# @reference-only: the house's exposure and its hedge orders are Chronex's own hedger's state
# @inprocess: the scenario sets the hedger and its venues up in this process; chronex serve
# takes no hedging configuration, so over FIX or REST there would be no hedger to drive
@hedging @inprocess @reference-only
Feature: Hedging the house's exposure
  The house's fills move its net exposure per asset. Past the configured threshold the hedging
  engine sends hedge orders to an external venue, in the order of preference, until the exposure
  is back inside the threshold. Orders, fills and the exposure left are events in the log.

  Background:
    Given the instrument CRYPTO:BTC/JPY
    And BTC is hedged past 1,000,000 JPY, at most 1 per order, on EXTA then EXTB
    And hedge venue EXTA offers 5 BTC at 5,000,000
    And hedge venue EXTB offers 5 BTC at 5,010,000

  Scenario: A hedge round trip
    Given alice buys 2 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 2 CRYPTO:BTC/JPY at 5,000,000
    Then the hedge orders are:
      | order | venue | side | qty | filled | end    |
      | H1    | EXTA  | buy  | 1   | 1      | filled |
      | H2    | EXTA  | buy  | 1   | 1      | filled |
    And the house's net BTC exposure is 0
    And the BTC exposure is inside the threshold

  Scenario: Exposure inside the threshold is not hedged
    Given alice buys 0.1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 0.1 CRYPTO:BTC/JPY at 5,000,000
    Then no hedge order was sent
    And the house's net BTC exposure is -0.1

  Scenario: A long position is hedged by selling, down to the threshold
    Given alice sells 1.5 CRYPTO:BTC/JPY at 5,000,000
    And hedge venue EXTA bids 5 BTC at 4,990,000
    When HOUSE buys 1.5 CRYPTO:BTC/JPY at 5,000,000
    Then the hedge orders are:
      | order | venue | side | qty | filled | end    |
      | H1    | EXTA  | sell | 1   | 1      | filled |
      | H2    | EXTA  | sell | 0.5 | 0.5    | filled |
    And the house's net BTC exposure is 0

  Scenario: A hedge filled in part is topped up, then the next venue takes over
    Given a hedge venue is given up after 1 tries
    And alice buys 7 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 7 CRYPTO:BTC/JPY at 5,000,000
    Then the hedge orders are:
      | order | venue | side | qty | filled | end    |
      | H1    | EXTA  | buy  | 1   | 1      | filled |
      | H2    | EXTA  | buy  | 1   | 1      | filled |
      | H3    | EXTA  | buy  | 1   | 1      | filled |
      | H4    | EXTA  | buy  | 1   | 1      | filled |
      | H5    | EXTA  | buy  | 1   | 1      | filled |
      | H6    | EXTA  | buy  | 1   | 0      | ended  |
      | H7    | EXTB  | buy  | 1   | 1      | filled |
      | H8    | EXTB  | buy  | 1   | 1      | filled |
    And the house's net BTC exposure is 0

  Scenario: The kill switch stops hedging until it is released
    Given risk checks are on
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    And the operator engages the kill switch of HOUSE
    Then no hedge order was sent
    And the hedge orders are:
      | order | venue | filled | end   | text                         |
      | H1    | EXTA  | 0      | ended | cancelled before it was sent |
    And the house's net BTC exposure is -1
    When the operator releases the kill switch of HOUSE
    Then the hedge orders are:
      | order | venue | filled | end    |
      | H1    | EXTA  | 0      | ended  |
      | H2    | EXTA  | 1      | filled |
    And the house's net BTC exposure is 0
