@matching @xtks @market
Feature: Market orders
  A market order takes whatever the other side offers; what it cannot fill is cancelled.

  Background:
    Given the instrument XTKS:7203
    And the XTKS:7203 book has:
      | name | side | price  | qty |
      | m1   | sell | 2500   | 100 |
      | m2   | sell | 2500.5 | 200 |

  Scenario: A market buy sweeps the asks
    When alice buys 300 XTKS:7203 at market as a1
    Then the trades are:
      | price  | qty | sell order |
      | 2500   | 100 | m1         |
      | 2500.5 | 200 | m2         |
    And order a1 is filled
    And the XTKS:7203 book is empty

  Scenario: What a market order cannot fill is cancelled
    When alice buys 500 XTKS:7203 at market as a1
    Then 2 trades happen
    And order a1 is cancelled by MARKET_REMAINDER
    And the log contains, in order:
      | event          | order | reason           |
      | OrderAccepted  | a1    |                  |
      | TradeExecuted  |       |                  |
      | TradeExecuted  |       |                  |
      | OrderCancelled | a1    | MARKET_REMAINDER |

  Scenario: A market sell on an empty bid side does not trade
    When bob sells 100 XTKS:7203 at market as b1
    Then no trade happens
    And order b1 is cancelled
