@sessions @fx @needs-control
Feature: The FX week rolls at 17:00 New York
  FX-JP trades from Sunday 17:00 to Friday 17:00 New York time; each weekday at 17:00 the trade
  date rolls (DAY orders end there) and trading goes straight on.

  Background:
    Given it is 2027-01-06 16:00 on FX-JP
    And the instrument FX-JP:USD/JPY

  @needs-events
  Scenario: The daily roll ends DAY orders and trading goes on
    Given alice buys 1000 FX-JP:USD/JPY at 157 as d1
    And alice buys 1000 FX-JP:USD/JPY at 156.5 GTC as g1
    When the clock advances to 17:00
    Then order d1 is expired by DAY
    And order g1 is open
    And FX-JP:USD/JPY is in the CONTINUOUS phase
    And the trade date on FX-JP is 2027-01-07

  @needs-events
  Scenario: The market closes for the weekend at 17:00 on Friday
    When the clock advances to 2027-01-08 16:59
    Then FX-JP:USD/JPY is in the CONTINUOUS phase
    When 1 minute passes
    Then FX-JP:USD/JPY is in the CLOSED phase

  Scenario: Orders are refused on Saturday
    When the clock advances to 2027-01-09 12:00
    And alice buys 1000 FX-JP:USD/JPY at 157
    Then the order is rejected with reason WRONG_PHASE

  @needs-events
  Scenario: The new week opens at 17:00 on Sunday
    When the clock advances to 2027-01-09 12:00
    And the clock advances to the open
    Then the time is 2027-01-10 17:00
    And FX-JP:USD/JPY is in the CONTINUOUS phase
    And the trade date on FX-JP is 2027-01-11
