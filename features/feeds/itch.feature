@feeds @xtks
Feature: The ITCH 5.0 market-data feed
  A subscriber receives the engine's market data as ITCH 5.0 over MoldUDP64 and rebuilds the
  book from it, order by order. Lost, duplicated and reordered packets are recovered through the
  retransmission server, so the subscriber's book still equals the engine's.

  Scenario: Adds, a fill, a replace and a cancel reach the subscriber
    Given the instrument XTKS:7203
    And mm sells 300 XTKS:7203 at 2500.5 as m1
    And mm sells 200 XTKS:7203 at 2501 as m2
    And bob buys 100 XTKS:7203 at 2499 as b1
    When alice buys 100 XTKS:7203 at 2501 as a1
    And mm replaces m2 with 400 at 2502
    And bob cancels b1
    Then the feed subscriber's book for XTKS:7203 equals the engine's
    And the feed sent an Add Order for sell 300 XTKS:7203 at 2500.5

  # @reference-only: reads Chronex's own ITCH feed
  @reference-only
  Scenario: An opening auction is a cross trade on the feed
    Given the instrument XTKS:7203
    And the reference price of XTKS:7203 is 2500
    And XTKS is in the PRE_OPEN phase
    And the XTKS:7203 book has:
      | name | account | side | price | qty |
      | b1   | alice   | buy  | 2502  | 300 |
      | s1   | dave    | sell | 2499  | 200 |
    When XTKS enters the OPENING_AUCTION phase
    And XTKS enters the CONTINUOUS phase
    Then the feed sent a Cross Trade for 200 XTKS:7203 at 2500
    And the feed subscriber's book for XTKS:7203 equals the engine's

  @inprocess
  Scenario Outline: A subscriber rebuilds a simulated open through <fault> packets
    Given it is 2027-01-04 08:55 on XTKS
    And a simulated XTKS market in 7203 with seed 7
    And <pct>% of MoldUDP64 packets are <fault>
    When the clock advances to 09:02
    Then XTKS:7203 has traded
    And the feed subscriber's book for XTKS:7203 equals the engine's

    Examples:
      | pct | fault      |
      | 2   | lost       |
      | 20  | lost       |
      | 10  | duplicated |
      | 10  | reordered  |
