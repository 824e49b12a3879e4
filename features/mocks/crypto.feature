@mocks
Feature: Crypto exchange mocks
  Seven crypto venues speak three public API styles: Binance (HMAC of the query string, weight
  headers), Coinbase Exchange (base64 HMAC over timestamp, method, path and body) and OKX v5
  (the {code, msg, data} envelope). Each matches orders in Chronex's own engine and refuses what
  the real venue refuses, in its words, on the scenario's virtual clock.

  Scenario Outline: A crypto order through each API style
    Given the crypto venue <venue>
    When alice sends a sell of 0.5 <symbol> at <price> to <venue>
    Then the venue accepted the order
    When bob sends a buy of 0.2 <symbol> at 31000 to <venue>
    Then the venue accepted the order
    And <venue> traded 0.2 <symbol> at <price>

    Examples:
      | venue         | symbol   | price    |
      | binance       | BTCUSDT  | 30000.01 |
      | binanceus     | BTCUSD   | 30000.01 |
      | mexc          | BTCUSDT  | 30000.01 |
      | coinbase      | BTC-USD  | 30000.01 |
      | coinbase-intl | BTC-USDC | 30000.1  |
      | okx           | BTC-USDT | 30000.1  |
      | okx-eea       | BTC-EUR  | 30000.1  |

  Scenario Outline: Precision rules answered in each venue's words
    Given the crypto venue <venue>
    When alice sends a buy of <qty> <symbol> at <price> to <venue>
    Then the venue refused it with HTTP <status> and error <code>

    Examples:
      | venue    | symbol   | qty     | price     | status | code                                  |
      | binance  | BTCUSDT  | 1       | 30000.005 | 400    | -1013                                 |
      | binance  | BTCUSDT  | 0.0001  | 10        | 400    | -1013                                 |
      | coinbase | BTC-USD  | 1       | 30000.001 | 400    | price is too accurate                 |
      | okx      | BTC-USDT | 0.001   | 30000.05  | 200    | 51000                                 |
      | okx      | BTC-USDT | 0.000001| 30000     | 200    | 51020                                 |

  Scenario: A mock's rate limit hit and backed off
    Given the crypto venue binance allows 5 requests per 1 minute
    When alice sends 5 buys of 0.01 BTCUSDT at 1000 to binance
    Then the venue accepted the order
    And the answer carries the header X-MBX-USED-WEIGHT-1M = 5
    When alice sends a buy of 0.01 BTCUSDT at 1000 to binance
    Then the venue refused it with HTTP 429 and error -1003
    When the client backs off as told
    And alice sends a buy of 0.01 BTCUSDT at 1000 to binance
    Then the venue accepted the order
    And the answer carries the header X-MBX-USED-WEIGHT-1M = 1
