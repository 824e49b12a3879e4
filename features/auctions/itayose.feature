@auction @xtks @needs-control
Feature: Call auctions (itayose)
  In a call auction orders collect without trading; when the auction ends the engine picks the one
  price that executes the most, then leaves the smallest imbalance, then lies nearest the
  reference price, and fills every order that price reaches in price-time priority.

  Worked by hand for the first scenario (reference price 2500):

    price | buys at or above | sells at or below | executable | imbalance
    2502  |  300             | 1000              | 300        | 700 sell
    2501  |  500             | 1000              | 500        | 500 sell
    2500  |  900             |  500              | 500        | 400 buy   <- most volume, least imbalance
    2499  |  900             |  200              | 200        | 700 buy

  Background:
    Given the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And XTKS is in the PRE_OPEN phase

  @needs-events
  Scenario: The opening auction uncrosses at the price worked out by hand
    Given the XTKS:7203 book has:
      | name | account | side | price | qty |
      | b1   | alice   | buy  | 2502  | 300 |
      | b2   | bob     | buy  | 2501  | 200 |
      | b3   | carol   | buy  | 2500  | 400 |
      | s1   | dave    | sell | 2499  | 200 |
      | s2   | erin    | sell | 2500  | 300 |
      | s3   | frank   | sell | 2501  | 500 |
    When XTKS enters the OPENING_AUCTION phase
    And XTKS enters the CONTINUOUS phase
    Then the auction of XTKS:7203 uncrossed at 2500 for 500
    And the auction of XTKS:7203 left a buy imbalance of 400
    And the trades are:
      | price | qty | buyer | seller | aggressor |
      | 2500  | 200 | alice | dave   | auction   |
      | 2500  | 100 | alice | erin   | auction   |
      | 2500  | 200 | bob   | erin   | auction   |
    And the XTKS:7203 book is:
      | bid qty | bid  | ask  | ask qty |
      | 400     | 2500 | 2501 | 500     |
    And XTKS:7203 is in the CONTINUOUS phase

  Scenario: Orders collect without trading before the open
    Given the XTKS:7203 book has:
      | side | price | qty |
      | buy  | 2505  | 100 |
      | sell | 2495  | 100 |
    Then no trade happens
    And the XTKS:7203 book is:
      | bid qty | bid  | ask  | ask qty |
      | 100     | 2505 | 2495 | 100     |

  @needs-events
  Scenario: An auction with no overlap ends without a trade
    Given the XTKS:7203 book has:
      | side | price | qty |
      | buy  | 2498  | 100 |
      | sell | 2502  | 100 |
    When XTKS enters the OPENING_AUCTION phase
    And XTKS enters the CONTINUOUS phase
    Then the auction of XTKS:7203 uncrossed with no trade
    And no trade happens

  @needs-events
  Scenario: Market orders in the auction take the price the limits set
    Given the XTKS:7203 book has:
      | account | side | type   | price | qty |
      | alice   | buy  | market |       | 300 |
      | dave    | sell | limit  | 2499  | 200 |
      | frank   | sell | limit  | 2501  | 300 |
    When XTKS enters the OPENING_AUCTION phase
    And XTKS enters the CONTINUOUS phase
    Then the auction of XTKS:7203 uncrossed at 2501 for 300

  Scenario: An at-the-open order that does not trade in the auction expires
    Given alice buys 100 XTKS:7203 at 2490 ATO as ato
    And bob sells 100 XTKS:7203 at 2510 as s1
    When XTKS enters the OPENING_AUCTION phase
    And XTKS enters the CONTINUOUS phase
    Then order ato is expired by ATO
    And order s1 is open with 100 left

  @needs-events
  Scenario: The closing auction sets the closing price
    Given XTKS is in the CONTINUOUS phase
    And alice buys 200 XTKS:7203 at 2503 as b1
    When XTKS enters the CLOSING_AUCTION phase
    And bob sells 200 XTKS:7203 at 2501 as s1
    Then no trade happens
    When XTKS enters the CLOSED phase
    Then the auction of XTKS:7203 uncrossed at 2501 for 200
    And the last price of XTKS:7203 is 2501
