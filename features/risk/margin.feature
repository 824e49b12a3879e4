@risk @xtks @margin @reference-only
Feature: Positions, P&L and margin
  Positions and P&L follow every fill; margin follows every mark. Utilisation is maintenance
  margin over equity: MarginWarning at 80%, MarginCall at 100%, as account events on the stream.

  Background:
    Given risk checks are on
    And the instrument XTKS:7203
    And account alice holds 1,000,000 JPY
    And the margin rates of XTKS:7203 are 20% initial and 10% maintenance

  Scenario: Margin after a fill
    Given mm sells 1000 XTKS:7203 at 2500
    When alice buys 1000 XTKS:7203 at 2500
    Then the position of alice in XTKS:7203 is 1000
    And the margin of alice is:
      | cash    | equity  | initial | maintenance | utilisation | level  |
      | 1000000 | 1000000 | 500000  | 250000      | 25          | normal |

  Scenario: A falling price takes the account past 80% and then 100% utilisation
    Given mm sells 1000 XTKS:7203 at 2500
    And alice buys 1000 XTKS:7203 at 2500
    When the mark price of XTKS:7203 is 1750
    Then no MarginWarning is raised for alice
    When the mark price of XTKS:7203 is 1700
    Then a MarginWarning is raised for alice
    And the margin of alice is:
      | equity | maintenance | utilisation | level   |
      | 200000 | 170000      | 85          | warning |
    When the mark price of XTKS:7203 is 1650
    Then a MarginCall is raised for alice
    And the account events of alice are:
      | event         | utilisation_bp |
      | MarginWarning | 8500           |
      | MarginCall    | 11000          |

  Scenario: A margin call can engage the kill switch
    Given the kill switch of alice trips on margin_call
    And mm sells 1000 XTKS:7203 at 2500
    And alice buys 1000 XTKS:7203 at 2500
    And alice buys 100 XTKS:7203 at 1600 as low
    When the mark price of XTKS:7203 is 1650
    Then a MarginCall is raised for alice
    And a KillSwitchEngaged is raised for alice
    And order low is cancelled by KILL_SWITCH

  Scenario: Realised and unrealised P&L
    Given mm sells 300 XTKS:7203 at 2500
    And alice buys 300 XTKS:7203 at 2500
    And bob buys 100 XTKS:7203 at 2600 as bid
    When alice sells 100 XTKS:7203 at 2600
    And the mark price of XTKS:7203 is 2550
    Then the positions of alice are:
      | instrument | qty | avg price | realised | unrealised |
      | XTKS:7203  | 200 | 2500      | 10000    | 10000      |
    And the P&L of alice is:
      | currency | realised | unrealised | net   |
      | JPY      | 10000    | 10000      | 20000 |

  Scenario: Two accounts trading with each other hold opposite positions
    Given mm sells 1000 XTKS:7203 at 2500
    When alice buys 400 XTKS:7203 at 2500
    Then the position of alice in XTKS:7203 is 400
    And the position of mm in XTKS:7203 is -400

  Scenario: Taker fees are charged on the aggressor's fills
    Given the taker_fee_bp limit of alice is 10
    And mm sells 1000 XTKS:7203 at 2500
    When alice buys 1000 XTKS:7203 at 2500
    Then the positions of alice are:
      | instrument | qty  | fees |
      | XTKS:7203  | 1000 | 2500 |

  Scenario: Utilisation as one value, amounts written as people write them
    Given mm sells 1,000 XTKS:7203 at 2,500
    When alice buys 1e3 XTKS:7203 at 2500
    Then the margin utilisation of alice is 25%
    And the JPY balance of alice is ¥1,000,000
    When the mark price of XTKS:7203 is 1700
    Then the margin utilisation of alice is 85%
