@crypto @cross @needs-control
Feature: Cross-currency orders
  Books of one cross group (BTC/JPY and BTC/USD) can match each other's orders marked
  'cross-currency', converting prices at the FX rate. A fill happens in the resting order's book,
  at its price; the aggressor's book and the converted price are the cross columns.

  Background:
    Given the FX rate USD/JPY is 150
    And the instruments:
      | instrument     | cross group |
      | CRYPTO:BTC/JPY | BTC         |
      | CRYPTO:BTC/USD | BTC         |

  # @needs-events: the two fills of a cross-currency trade are in two books' units over FIX;
  # a REST target publishes the trade itself
  @needs-events
  Scenario: A JPY bid lifts a USD offer through the FX rate
    Given mm sells 1 CRYPTO:BTC/USD at 90,000 as usd_ask
    When alice buys 1 CRYPTO:BTC/JPY at 14,000,000 cross-currency as jpy_bid
    Then the trades are:
      | instrument     | price  | qty | buyer | seller | cross instrument | cross price | fx rate |
      | CRYPTO:BTC/USD | 90,000 | 1   | alice | mm     | CRYPTO:BTC/JPY   | 13,500,000  | 150     |
    And the log contains, in order:
      | event         | sell order id | cross price |
      | TradeExecuted | usd_ask       | 13500000    |

  Scenario: Without the option an order stays in its own book
    Given mm sells 1 CRYPTO:BTC/USD at 90000
    When alice buys 1 CRYPTO:BTC/JPY at 14000000
    Then no trade happens
    And the best bid of CRYPTO:BTC/JPY is 14000000
