@replay @rerun @xtks @reference-only
Feature: Re-running the day and asking what-if
  The log holds every input (orders, the clock's phase changes, expiry timers), so today's engines
  fed the same inputs write the same log, byte for byte. With another configuration the re-run
  differs, and the differences are listed by what the flow names.

  Scenario: Re-running an untouched day reproduces its head hash
    Given it is 2027-01-04 08:30 on XTKS
    And the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And these orders are submitted:
      | name | account | side | qty | price | tif |
      | b1   | alice   | buy  | 300 | 2501  | DAY |
      | s1   | bob     | sell | 100 | 2499  | DAY |
      | s2   | bob     | sell | 200 | 2502  | GTC |
    When the clock advances to 10:00
    And carol sells 100 XTKS:7203 at 2501 as c1
    And alice cancels b1
    And the clock advances to the close
    Then re-running the day reproduces the same head hash

  Scenario: Re-running a day with corrections reproduces its head hash
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And bob sells 200 XTKS:7203 at 2500 as s1
    And alice buys 100 XTKS:7203 at 2500 as b1
    And carol buys 100 XTKS:7203 at 2500 as c1
    When trade 1 of XTKS:7203 is busted at 16:05
    And the price of trade 2 of XTKS:7203 is corrected to 2490 at 16:10
    And a late trade is reported at 16:15: alice bought 100 XTKS:7203 at 2495 from bob at 11:00
    Then re-running the day reproduces the same head hash

  Scenario: With a lower order size limit, the large order is rejected and never trades
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And risk checks are on
    And bob sells 1000 XTKS:7203 at 2500 as s1
    And alice buys 300 XTKS:7203 at 2500 as a1
    And alice buys 700 XTKS:7203 at 2500 as a2
    When the day is re-run with max order qty 500 for alice
    Then the re-run differs from the original by:
      | kind     | key                            | original | re-run                    |
      | order    | alice/a2                       | filled   | rejected RISK_MAX_ORDER_QTY |
      | order    | bob/s1                         | filled   | partially filled 300      |
      | trade    | XTKS:7203 alice/a2 x bob/s1 #1 | 700 @ 2500 | -                       |
      | position | alice XTKS:7203                | 1000     | 300                       |
      | position | bob XTKS:7203                  | -1000    | -300                      |
      | account  | LimitBreached alice #1         | -        | max_order_qty             |

  Scenario Outline: A what-if that changes nothing lists no difference (<change>)
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And risk checks are on
    And bob sells 500 XTKS:7203 at 2500 as s1
    And alice buys 500 XTKS:7203 at 2500 as a1
    When the day is re-run with <change>
    Then the re-run does not differ from the original

    Examples:
      | change                           |
      | max order qty 500 for alice      |
      | max order qty 1000 on XTKS:7203  |

  Scenario: A venue's size limit in a what-if rejects the flow's larger orders
    Given it is 2027-01-04 10:00 on XTKS
    And the instrument XTKS:7203
    And bob sells 300 XTKS:7203 at 2500 as s1
    And alice buys 300 XTKS:7203 at 2500 as a1
    When the day is re-run with max order qty 200 on XTKS:7203
    Then the re-run differs from the original by:
      | kind     | key                            | original   | re-run               |
      | order    | alice/a1                       | filled     | rejected QTY_ABOVE_MAX |
      | order    | bob/s1                         | filled     | rejected QTY_ABOVE_MAX |
      | trade    | XTKS:7203 alice/a1 x bob/s1 #1 | 300 @ 2500 | -                    |
      | position | alice XTKS:7203                | 300        | -                    |
      | position | bob XTKS:7203                  | -300       | -                    |
