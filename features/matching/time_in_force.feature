@matching @xtks @tif
Feature: Time in force
  IOC fills what it can and cancels the rest; FOK fills all or nothing; DAY orders expire at the
  close, GTD orders at their time, GTC orders stay.

  Background:
    Given the instrument XTKS:7203
    And the XTKS:7203 book has:
      | name | side | price | qty |
      | m1   | sell | 2500  | 200 |

  Scenario Outline: Immediate orders against 200 shares offered
    When alice buys <qty> XTKS:7203 at 2500 <tif> as a1
    Then order a1 is <status>
    And <trades> trades happen

    Examples:
      | tif | qty | status                       | trades |
      | IOC | 100 | filled                       | 1      |
      | IOC | 300 | cancelled by IOC_REMAINDER   | 1      |
      | FOK | 200 | filled                       | 1      |
      | FOK | 300 | cancelled by FOK_UNFILLED    | 0      |

  Scenario: An IOC order never rests
    When alice buys 300 XTKS:7203 at 2500 IOC
    Then the XTKS:7203 book is empty

  Scenario: A GTD order expires at its time
    Given alice buys 100 XTKS:7203 at 2490 GTD until 10:30 as g1
    When the clock advances to 10:29:59
    Then order g1 is open with 100 left
    When 1 second passes
    Then order g1 is expired by GTD
    And the XTKS:7203 book is:
      | bid | ask  | ask qty |
      |     | 2500 | 200     |

  Scenario: A GTD order in the past is refused
    When the clock advances to 11:00
    And alice buys 100 XTKS:7203 at 2490 GTD until 10:30
    Then the order is rejected with reason INVALID_EXPIRE_TIME

  Scenario: DAY orders expire when the venue closes, GTC orders stay
    Given alice buys 100 XTKS:7203 at 2490 as d1
    And alice buys 100 XTKS:7203 at 2489 GTC as g1
    When XTKS enters the CLOSED phase
    Then order d1 is expired by DAY
    And order g1 is open with 100 left
    And order m1 is expired by DAY

  Scenario: IOC orders are refused outside continuous trading
    Given XTKS is in the PRE_OPEN phase
    When alice buys 100 XTKS:7203 at 2500 IOC
    Then the order is rejected with reason WRONG_PHASE

  Scenario: At-the-open orders are refused once trading runs
    When alice buys 100 XTKS:7203 at 2500 ATO
    Then the order is rejected with reason WRONG_PHASE
