@demo_failure
Feature: A deliberately failing scenario (out of the default run)
  Shows what a failing Then prints: expected and actual tables with the differing cells marked,
  the last events of the instrument, and where the scenario's log was kept.
  Run it with:  chronex run features/demo --tags @demo_failure

  Scenario: The book is not what the scenario expects
    Given the instrument XTKS:7203
    And mm sells 300 XTKS:7203 at 2501 as m1
    And mm sells 200 XTKS:7203 at 2502 as m2
    When alice buys 100 XTKS:7203 at 2500 as a1
    And bob buys 100 XTKS:7203 at 2501 as b1
    Then the XTKS:7203 book is:
      | bid qty | bid  | ask  | ask qty |
      | 100     | 2500 | 2501 | 300     |
      | 100     | 2499 | 2502 | 200     |

  Scenario: A step with a malformed price
    Given the instrument XTKS:7203
    When alice buys 100 XTKS:7203 at 25x0
