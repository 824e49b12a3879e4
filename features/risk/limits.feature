@risk @xtks @limits @needs-control
Feature: Pre-trade risk limits
  Risk checks every order before the matching engine sees it. A refused order carries the limit's
  reason code, and a LimitBreached account event names the limit and the value that failed.

  Background:
    Given risk checks are on
    And the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And account alice holds 10,000,000 JPY

  Scenario: An order within every limit goes to the book
    Given the max_order_qty limit of alice is 1000
    When alice buys 1000 XTKS:7203 at 2500 as a1
    Then order a1 is open with 1000 left
    And no LimitBreached is raised for alice

  # @reference-only: reads the LimitBreached account event, which no order-entry answer carries
  @reference-only
  Scenario Outline: Each limit refuses the order that breaches it
    Given the <limit> limit of alice is <value>
    When alice buys <qty> XTKS:7203 at <price>
    Then the order is rejected with reason <reason>
    And a LimitBreached is raised for alice
    And the XTKS:7203 book is empty

    Examples:
      | limit         | value   | qty  | price | reason              |
      | max_order_qty | 1000    | 1100 | 2500  | RISK_MAX_ORDER_QTY  |
      | max_notional  | 1000000 | 500  | 2500  | RISK_MAX_NOTIONAL   |
      | collar_bp     | 500     | 100  | 2700  | RISK_PRICE_COLLAR   |
      | max_position  | 500     | 600  | 2500  | RISK_POSITION_LIMIT |
      | credit        | 0       | 5000 | 2500  | RISK_BUYING_POWER   |

  Scenario: A price collar in ticks
    Given the collar_ticks limit of alice on XTKS:7203 is 10
    When alice buys 100 XTKS:7203 at 2505 as ok
    And alice buys 100 XTKS:7203 at 2506 as far
    Then order ok is open
    And order far is rejected with reason RISK_PRICE_COLLAR

  Scenario: Too many open orders
    Given the max_open_orders limit of alice is 2
    When alice buys 100 XTKS:7203 at 2490 as a1
    And alice buys 100 XTKS:7203 at 2489 as a2
    And alice buys 100 XTKS:7203 at 2488 as a3
    Then order a3 is rejected with reason RISK_MAX_OPEN_ORDERS
    When alice cancels a1
    And alice buys 100 XTKS:7203 at 2488 as a4
    Then order a4 is open

  Scenario: Too many orders in one second
    Given the max_orders_per_second limit of alice is 3
    When these orders are submitted:
      | name | account | side | qty | price |
      | a1   | alice   | buy  | 100 | 2490  |
      | a2   | alice   | buy  | 100 | 2490  |
      | a3   | alice   | buy  | 100 | 2490  |
      | a4   | alice   | buy  | 100 | 2490  |
    Then order a4 is rejected with reason RISK_MAX_ORDER_RATE
    When 1 second passes
    And alice buys 100 XTKS:7203 at 2490 as a5
    Then order a5 is open

  # @reference-only: reads Chronex's position read model
  @reference-only
  Scenario: A position limit counts fills already made
    Given the max_position limit of alice is 500
    And mm sells 400 XTKS:7203 at 2500
    And alice buys 400 XTKS:7203 at 2500
    When alice buys 200 XTKS:7203 at 2490 as more
    Then order more is rejected with reason RISK_POSITION_LIMIT
    And the position of alice in XTKS:7203 is 400

  Scenario: A firm-wide limit counts every account
    Given the firm max_open_orders limit is 2
    When alice buys 100 XTKS:7203 at 2490 as a1
    And bob buys 100 XTKS:7203 at 2490 as b1
    And carol buys 100 XTKS:7203 at 2490 as c1
    Then order c1 is rejected with reason RISK_MAX_OPEN_ORDERS
