@matching @xtks @cancel @replace
Feature: Cancels and replaces

  Background:
    Given the instrument XTKS:7203
    And the XTKS:7203 book has:
      | name | account | side | price | qty |
      | a1   | alice   | buy  | 2499  | 300 |
      | b1   | bob     | buy  | 2499  | 100 |

  Scenario: A cancelled order leaves the book
    When alice cancels a1
    Then order a1 is cancelled by USER
    And the XTKS:7203 book is:
      | side | price | qty | order |
      | buy  | 2499  | 100 | b1    |

  Scenario: Cancelling an order twice is refused the second time
    Given alice cancels a1
    When alice cancels a1
    Then the request is rejected with reason ORDER_CLOSED

  # @account-in-request: a REST API key acts for its own accounts; a request cannot name another
  @account-in-request
  Scenario: Only the owner may cancel an order
    When mallory cancels a1
    Then the request is rejected with reason WRONG_ACCOUNT
    And order a1 is open with 300 left

  Scenario: Reducing the quantity keeps time priority
    When alice changes the quantity of a1 to 200
    Then the request is accepted
    And the XTKS:7203 book is:
      | side | price | qty | order |
      | buy  | 2499  | 200 | a1    |
      | buy  | 2499  | 100 | b1    |

  Scenario: A new price loses time priority
    When alice changes the price of a1 to 2499.5
    And alice changes the price of a1 to 2499
    Then the XTKS:7203 book is:
      | side | price | qty | order |
      | buy  | 2499  | 100 | b1    |
      | buy  | 2499  | 300 | a1    |

  Scenario: A replace that crosses the spread trades
    Given carol sells 100 XTKS:7203 at 2500
    When alice replaces a1 with 300 at 2500
    Then a trade of 100 XTKS:7203 at 2500 happens
    And order a1 is partially filled with 200 left

  Scenario: Cancel all cancels every open order of one account
    Given alice buys 100 XTKS:7203 at 2498 as a2
    When alice cancels all orders
    Then alice has no open orders
    And bob has 1 open orders

  Scenario: A larger quantity loses time priority
    When alice changes the quantity of a1 to 400
    And carol sells 100 XTKS:7203 at 2499
    Then the trades are:
      | price | qty | buyer | seller |
      | 2499  | 100 | bob   | carol  |

  Scenario: A new price queues behind the orders already there
    Given carol buys 100 XTKS:7203 at 2499.5
    When alice changes the price of a1 to 2499.5
    And dave sells 100 XTKS:7203 at 2499.5
    Then the trades are:
      | price  | qty | buyer | seller |
      | 2499.5 | 100 | carol | dave   |
