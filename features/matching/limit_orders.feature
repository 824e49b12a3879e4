@matching @xtks
Feature: Limit orders on a TSE equity
  Prices are in yen with the TOPIX100 tick table; quantities in shares, lots of 100.

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
