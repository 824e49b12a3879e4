@calendar
Feature: Asking a venue's calendar without running the clock
  A QA engineer checks sessions, breaks, phases and the next open straight from the calendars, and
  whether a date's holidays are published or only projected from the rules.

  Scenario: The Tokyo session with its lunch break
    Then XTKS has a session on 2027-01-04
    And the session of XTKS on 2027-01-04 is:
      | pre-open | open  | close | breaks      | kind    | projected |
      | 08:00    | 09:00 | 15:30 | 11:30-12:30 | regular | yes       |
    And the phase of XTKS at 2027-01-04 11:45 is BREAK
    And the phase of XTKS at 2027-01-04 15:27 is CLOSING_AUCTION

  Scenario: New Year's holidays push the next open to the first business day
    Then XTKS has no session on 2027-01-01
    And the next open of XTKS after 2026-12-30 15:30 is 2027-01-04 09:00

  Scenario: Published holidays versus projected rules
    Then the rules of XTKS on 2026-06-01 are published
    And the rules of XTKS on 2031-12-30 are projected

  Scenario: A New York early close on the day after Thanksgiving
    Then the session of XNYS on 2027-11-26 is:
      | open  | close | kind        |
      | 09:30 | 13:00 | early_close |
    And the next open of XNYS after 2027-11-26 13:00 is 2027-11-29 09:30

  Scenario: A London half day ends with a closing auction at 12:30
    Then the session of XLON on 2026-12-24 is:
      | open  | close | kind |
      | 07:50 | 12:35 | half |
    And the phase of XLON at 2026-12-24 12:31 is CLOSING_AUCTION

  Scenario: The time in Tokyo while New York is still on the day before
    Given it is 2027-01-04 17:00 on XNYS
    Then the time is 07:00 Asia/Tokyo
    And it is 2027-01-05 07:00 in Asia/Tokyo
