@matching @xtks @limit
Feature: Limit orders on a TSE equity
  XTKS:7203 trades on the TOPIX100 tick table (0.5 yen between 1,000 and 3,000 yen) in lots of
  100 shares. The engine matches by price, then time.

  Background:
    Given the instrument XTKS:7203

  Scenario: A limit order rests when nothing crosses it
    When alice buys 100 XTKS:7203 at 2500
    Then the XTKS:7203 book is:
      | bid qty | bid  | ask | ask qty |
      | 100     | 2500 |     |         |
    And no trade happens

  Scenario: A crossing limit order trades at the resting price
    Given mm sells 300 XTKS:7203 at 2500.5 as m1
    When alice buys 100 XTKS:7203 at 2501 as a1
    Then the trades are:
      | price  | qty | buyer | seller | aggressor |
      | 2500.5 | 100 | alice | mm     | buy       |
    And order a1 is filled
    And order m1 is partially filled with 200 left

  Scenario: Orders at the same price fill in time priority
    Given the XTKS:7203 book has:
      | name | account | side | price | qty |
      | s1   | carol   | sell | 2500  | 100 |
      | s2   | dave    | sell | 2500  | 100 |
    When alice buys 100 XTKS:7203 at 2500
    Then the trades are:
      | price | qty | seller | sell order |
      | 2500  | 100 | carol  | s1         |
    And order s2 is open with 100 left

  Scenario: A large order walks the book level by level
    Given the XTKS:7203 book has:
      | side | price  | qty |
      | sell | 2500   | 100 |
      | sell | 2500.5 | 200 |
      | sell | 2501   | 300 |
    When alice buys 400 XTKS:7203 at 2501
    Then the trades are:
      | price  | qty |
      | 2500   | 100 |
      | 2500.5 | 200 |
      | 2501   | 100 |
    And the XTKS:7203 book is:
      | bid | ask  | ask qty |
      |     | 2501 | 200     |

  Scenario: The book lists every level on both sides, best first
    Given the XTKS:7203 book has:
      | side | price  | qty |
      | buy  | 2499   | 100 |
      | buy  | 2499.5 | 200 |
      | buy  | 2499.5 | 100 |
      | sell | 2500.5 | 300 |
    Then the XTKS:7203 book is:
      | side | price  | qty | orders |
      | buy  | 2499.5 | 300 | 2      |
      | buy  | 2499   | 100 | 1      |
      | sell | 2500.5 | 300 | 1      |
    And the best bid of XTKS:7203 is 2499.5
    And the best ask of XTKS:7203 is 2500.5
    And the XTKS:7203 book is not crossed

  Scenario: The book order by order keeps priority within a level
    Given the XTKS:7203 book has:
      | name | account | side | price | qty |
      | b1   | alice   | buy  | 2499  | 100 |
      | b2   | bob     | buy  | 2499  | 300 |
    Then the XTKS:7203 book is:
      | side | price | qty | order | account |
      | buy  | 2499  | 100 | b1    | alice   |
      | buy  | 2499  | 300 | b2    | bob     |

  Scenario Outline: Prices must sit on the tick of their band
    When alice buys 100 XTKS:7203 at <price>
    Then the order is <outcome>

    Examples:
      | price  | outcome                        |
      | 999.9  | open                           |
      | 2500.5 | open                           |
      | 2500.3 | rejected with reason OFF_TICK  |
      | 3001   | open                           |
      | 3000.5 | rejected with reason OFF_TICK  |

  Scenario Outline: Quantities must be whole lots
    When alice buys <qty> XTKS:7203 at 2500
    Then the order is <outcome>

    Examples:
      | qty  | outcome                          |
      | 100  | open                             |
      | 1000 | open                             |
      | 150  | rejected with reason OFF_LOT     |
      | 0    | rejected with reason INVALID_QTY |
