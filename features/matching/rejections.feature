@matching @xtks @rejections
Feature: Orders the engine refuses, with their reasons
  A refused order changes nothing; the rejection names the reason.

  Background:
    Given the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500

  Scenario Outline: Daily price limits around the reference price
    When alice buys 100 XTKS:7203 at <price>
    Then the order is <outcome>

    Examples:
      | price | outcome                                   |
      | 2999  | open                                      |
      | 3000  | open                                      |
      | 3001  | rejected with reason OUTSIDE_PRICE_LIMITS |
      | 2000  | open                                      |
      | 1999  | rejected with reason OUTSIDE_PRICE_LIMITS |

  Scenario: A new reference price moves the limits
    When the reference price of XTKS:7203 is 2800
    And alice buys 100 XTKS:7203 at 3300 as a1
    And alice buys 100 XTKS:7203 at 3305 as a2
    Then order a1 is open
    And order a2 is rejected with reason OUTSIDE_PRICE_LIMITS

  Scenario: Cancelling an order that is no longer open is refused
    Given alice buys 100 XTKS:7203 at 2500 as a1
    And alice cancels a1
    When bob cancels a1
    Then the request is rejected with reason ORDER_CLOSED

  Scenario: A refused order leaves the book as it was
    Given bob sells 100 XTKS:7203 at 2500.5
    When alice buys 100 XTKS:7203 at 2500.3
    Then the order is rejected with reason OFF_TICK
    And the XTKS:7203 book is:
      | bid | ask    | ask qty |
      |     | 2500.5 | 100     |
