# @reference-only: the house's exposure and its hedge orders are Chronex's own hedger's state
# @inprocess: the scenario sets the hedger and its venues up in this process; chronex serve
# takes no hedging configuration, so over FIX or REST there would be no hedger to drive
@hedging @inprocess @inprocess-venue @reference-only
Feature: Hedge venue rejects and held orders
  Faults only the in-process hedge venue can stage: rejects on demand and orders held unanswered.

  Background:
    Given the instrument CRYPTO:BTC/JPY
    And BTC is hedged past 1,000,000 JPY, at most 1 per order, on EXTA then EXTB
    And hedge venue EXTA offers 5 BTC at 5,000,000
    And hedge venue EXTB offers 5 BTC at 5,010,000

  Scenario: Rejects on one venue move the hedge to the next
    Given a hedge venue is given up after 2 tries
    And hedge venue EXTA rejects the next 2 orders
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    Then the hedge orders are:
      | order | venue | filled | end      | text              |
      | H1    | EXTA  | 0      | rejected | rejected by venue |
      | H2    | EXTA  | 0      | rejected | rejected by venue |
      | H3    | EXTB  | 1      | filled   |                   |
    And the house's net BTC exposure is 0

  Scenario: When every venue has failed, hedging halts until the operator resumes it
    Given a hedge venue is given up after 1 tries
    And hedge venue EXTA rejects the next 1 orders
    And hedge venue EXTB rejects the next 1 orders
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    Then hedging of BTC is halted: no hedge venue left
    And the house's net BTC exposure is -1
    When the operator resumes hedging of BTC
    Then the house's net BTC exposure is 0
    And the hedge events of HOUSE are:
      | event        | asset |
      | HedgeHalted  | BTC   |
      | HedgeResumed | BTC   |

  Scenario: The kill switch cancels a working hedge order
    Given risk checks are on
    And hedge venue EXTA holds its orders
    And alice buys 1 CRYPTO:BTC/JPY at 5,000,000
    When HOUSE sells 1 CRYPTO:BTC/JPY at 5,000,000
    Then the hedge orders are:
      | order | venue | filled | end     |
      | H1    | EXTA  | 0      | working |
    When the operator engages the kill switch of HOUSE
    Then the hedge orders are:
      | order | venue | filled | end   | text      |
      | H1    | EXTA  | 0      | ended | cancelled |
    And the house's net BTC exposure is -1
    When hedge venue EXTA releases its orders
    And the operator releases the kill switch of HOUSE
    Then the house's net BTC exposure is 0
