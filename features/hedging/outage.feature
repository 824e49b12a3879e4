# @reference-only: the house's exposure and its hedge orders are Chronex's own hedger's state
# @inprocess: the scenario sets the hedger and its venues up in this process; chronex serve
# takes no hedging configuration, so over FIX or REST there would be no hedger to drive
@hedging @inprocess @reference-only
Feature: A hedge venue's outage
  When a venue goes down with a hedge order on it, the order is given up (its fills, if any
  arrive later, still count) and the engine fails over to the next venue, or, configured to stop,
  halts the asset's hedging and says why in an account event.

  Background:
    Given the instrument CRYPTO:BTC/JPY
    And BTC is hedged past 1,000,000 JPY, at most 1 per order, on EXTA then EXTB
    And hedge venue EXTA offers 5 BTC at 5,000,000
    And hedge venue EXTB offers 5 BTC at 5,010,000

  Scenario: A venue outage during a hedge fails over to the next venue
    Given hedge venue EXTA goes down when the next order arrives
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    Then the hedge orders are:
      | order | venue | filled | end    |
      | H1    | EXTA  | 0      | ended  |
      | H2    | EXTB  | 1      | filled |
    And the house's net BTC exposure is 0

  Scenario: Configured to stop, an outage halts hedging with an account event until the venue is back
    Given hedging stops on a venue outage
    And hedge venue EXTA goes down when the next order arrives
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    Then hedging of BTC is halted: venue EXTA is down
    And the house's net BTC exposure is -1
    When hedge venue EXTA comes back
    Then the hedge orders are:
      | order | venue | filled | end    |
      | H1    | EXTA  | 0      | ended  |
      | H2    | EXTA  | 1      | filled |
    And the house's net BTC exposure is 0
    And the hedge events of HOUSE are:
      | event        | asset |
      | HedgeHalted  | BTC   |
      | HedgeResumed | BTC   |

  Scenario: With every venue down, hedging halts and says so
    Given hedge venue EXTA is down
    And hedge venue EXTB is down
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    Then no hedge order was sent
    And hedging of BTC is halted: no hedge venue left (EXTA down, EXTB down)
    And the house's net BTC exposure is -1
