@risk @xtks @kill_switch @reference-only
Feature: The kill switch
  Engaged by an operator or automatically on a configured breach, the kill switch cancels every
  open order of the account and blocks new ones until it is released.

  Background:
    Given risk checks are on
    And the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And account alice holds 10,000,000 JPY

  Scenario: Engaging the kill switch cancels open orders and blocks new ones
    Given alice buys 100 XTKS:7203 at 2490 as a1
    And alice sells 100 XTKS:7203 at 2510 as a2
    And bob buys 100 XTKS:7203 at 2489 as b1
    When the operator engages the kill switch of alice
    Then order a1 is cancelled by KILL_SWITCH
    And order a2 is cancelled by KILL_SWITCH
    And order b1 is open
    And the kill switch of alice is engaged
    When alice buys 100 XTKS:7203 at 2490 as a3
    Then order a3 is rejected with reason RISK_KILL_SWITCH

  Scenario: Releasing the kill switch restores trading
    Given the operator engages the kill switch of alice
    When the operator releases the kill switch of alice
    And alice buys 100 XTKS:7203 at 2490 as a1
    Then order a1 is open
    And the kill switch of alice is released
    And the account events of alice are:
      | event              | manual |
      | KillSwitchEngaged  | True   |
      | KillSwitchReleased |        |

  Scenario: A configured breach engages the kill switch by itself
    Given the max_order_qty limit of alice is 1000
    And the kill switch of alice trips on max_order_qty
    And alice buys 100 XTKS:7203 at 2490 as a1
    When alice buys 5000 XTKS:7203 at 2490 as big
    Then order big is rejected with reason RISK_MAX_ORDER_QTY
    And order a1 is cancelled by KILL_SWITCH
    And the account events of alice are:
      | event             | limit         | manual |
      | LimitBreached     | max_order_qty |        |
      | KillSwitchEngaged |               | False  |
    And the log contains, in order:
      | event             | account |
      | LimitBreached     | alice   |
      | KillSwitchEngaged | alice   |
      | OrderCancelled    | alice   |
