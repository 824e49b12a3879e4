@matching @xtks @stop @iceberg
Feature: Stop orders, icebergs and post-only orders

  Background:
    Given the instrument XTKS:7203

  # @needs-events: a stop's trigger and an iceberg's refill are not execution reports; a REST
  # target publishes them
  @needs-events
  Scenario: A stop order becomes a market order when a trade reaches its stop price
    Given carol sells 100 XTKS:7203 at 2510 as c1
    And bob sells 100 XTKS:7203 at 2505 as b1
    And alice buys 100 XTKS:7203 at market stop 2505 as s1
    When dave buys 100 XTKS:7203 at 2505
    Then the log contains, in order:
      | event         | order | trigger_price |
      | StopTriggered | s1    | 2505          |
    And the trades are:
      | price | qty | buyer | seller |
      | 2505  | 100 | dave  | bob    |
      | 2510  | 100 | alice | carol  |

  @needs-events
  Scenario: A stop-limit order rests at its limit once triggered
    Given bob sells 100 XTKS:7203 at 2505 as b1
    And alice buys 100 XTKS:7203 at 2504 stop 2505 as s1
    When dave buys 100 XTKS:7203 at 2505
    Then order s1 is open with 100 left
    And the XTKS:7203 book is:
      | bid qty | bid  | ask | ask qty |
      | 100     | 2504 |     |         |

  Scenario: A stop that would trigger at once is refused
    Given bob sells 100 XTKS:7203 at 2505
    And dave buys 100 XTKS:7203 at 2505
    When alice buys 100 XTKS:7203 at market stop 2500
    Then the order is rejected with reason INVALID_STOP_PRICE

  Scenario: An iceberg shows only its display quantity
    When alice sells 1000 XTKS:7203 at 2500 display 200 as ice
    Then the XTKS:7203 book is:
      | side | price | qty | total |
      | sell | 2500  | 200 | 1000  |

  @needs-events
  Scenario: An iceberg replenishes its shown part after a fill
    Given alice sells 1000 XTKS:7203 at 2500 display 200 as ice
    When bob buys 200 XTKS:7203 at 2500
    Then order ice is partially filled with 800 left
    And the log contains a IcebergReplenished
    And the XTKS:7203 book is:
      | side | price | qty | total |
      | sell | 2500  | 200 | 800   |

  Scenario: A post-only order that would take liquidity is refused
    Given bob sells 100 XTKS:7203 at 2500
    When alice buys 100 XTKS:7203 at 2500 post-only
    Then the order is rejected with reason POST_ONLY_WOULD_CROSS
    And no trade happens

  Scenario: A post-only order that does not cross rests
    Given bob sells 100 XTKS:7203 at 2500
    When alice buys 100 XTKS:7203 at 2499.5 post-only as p1
    Then order p1 is open with 100 left
