@matching
Feature: Instruments of other venues trade in their own units

  @cme
  Scenario: An E-mini future trades in quarter points
    Given the instrument CME:ESH7
    And mm sells 5 CME:ESH7 at 5000.25
    When alice buys 2 CME:ESH7 at 5000.25
    Then a trade of 2 CME:ESH7 at 5000.25 happens
    And the CME:ESH7 book is:
      | bid | ask     | ask qty |
      |     | 5000.25 | 3       |

  @cme
  Scenario: A future stop order protects a short position
    Given the instrument CME:ESH7
    And mm sells 10 CME:ESH7 at 5001
    And alice buys 1 CME:ESH7 at market stop 5001 as stop
    When bob buys 1 CME:ESH7 at 5001
    Then order stop is filled
    And 2 trades happen

  @fx
  Scenario: USD/JPY trades in thousands at a tenth of a sen
    Given the instrument FX-JP:USD/JPY
    And mm sells 1000000 FX-JP:USD/JPY at 157.125
    When alice buys 250000 FX-JP:USD/JPY at 157.125
    Then the trades are:
      | instrument    | price   | qty    |
      | FX-JP:USD/JPY | 157.125 | 250000 |

  @fx
  Scenario: An FX amount off the thousand is refused
    Given the instrument FX-JP:USD/JPY
    When alice buys 1500 FX-JP:USD/JPY at 157
    Then the order is rejected with reason OFF_LOT

  @crypto
  Scenario: Bitcoin trades in fractions of a coin
    Given the instrument CRYPTO:BTC/JPY
    And mm sells 0.5 CRYPTO:BTC/JPY at 15000000
    When alice buys 0.0125 CRYPTO:BTC/JPY at 15000000 as a1
    Then a trade of 0.0125 CRYPTO:BTC/JPY at 15000000 happens
    And order a1 is filled

  @crypto
  Scenario: Two instruments keep separate books
    Given the instruments:
      | instrument      |
      | CRYPTO:BTC/JPY  |
      | CRYPTO:BTC/USD  |
    And mm sells 1 CRYPTO:BTC/JPY at 15000000
    When alice buys 1 CRYPTO:BTC/USD at 100000
    Then no trade happens
    And the best bid of CRYPTO:BTC/USD is 100000
    And the best bid of CRYPTO:BTC/JPY is none
