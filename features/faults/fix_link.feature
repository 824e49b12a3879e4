@wire @faults @reference-only
Feature: Faults on the FIX link
  The server's FIX link loses, garbles, delays or duplicates chosen messages, or is cut at an
  instant of the server's clock. The session layer finds a gap by MsgSeqNum (the client's next
  message, a TestRequest after a second of silence, carries the number) and asks for a resend; a
  PossDup copy of a message already processed is ignored; a delayed message arrives once the
  clock has moved past its delay; after a cut the client logs on again and is resent what it
  missed. Every order reaches the book exactly once.

  Background:
    Given the instrument XTKS:7203
    And mm sells 300 XTKS:7203 at 2500.5 as m1

  Scenario: A NewOrderSingle lost on the way in is resent and trades once
    Given the FIX link drops the next NewOrderSingle inbound
    When alice buys 100 XTKS:7203 at 2501 as a1
    Then the trades are:
      | price  | qty | buyer | seller | aggressor |
      | 2500.5 | 100 | alice | mm     | buy       |
    And order m1 is partially filled with 200 left
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: An ExecutionReport lost on the way out is resent from the server's store
    Given the FIX link drops the next ExecutionReport outbound
    When alice buys 100 XTKS:7203 at 2501 as a1
    Then order a1 is filled
    And order m1 is partially filled with 200 left
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: A garbled NewOrderSingle is ignored, then resent and accepted
    Given the FIX link garbles the next NewOrderSingle
    When alice buys 100 XTKS:7203 at 2499 as a2
    Then order a2 is open with 100 left
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: A message lost by its number is found by the gap after it
    Given the FIX link drops inbound message 4
    When alice buys 100 XTKS:7203 at 2499 as a3
    And bob buys 100 XTKS:7203 at 2498 as b3
    Then order a3 is open with 100 left
    And order b3 is open with 100 left
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: A NewOrderSingle delayed on the way in reaches the book once the clock has moved past the delay
    Given the FIX link delays the next NewOrderSingle inbound by 200 ms
    When alice buys 100 XTKS:7203 at 2501 as a4
    Then the FIX link holds 1 messages
    And order m1 is open with 300 left
    When the clock advances by 200 ms
    Then the trades are:
      | price  | qty | buyer | seller | aggressor |
      | 2500.5 | 100 | alice | mm     | buy       |
    And order m1 is partially filled with 200 left
    And the FIX link holds 0 messages
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: An ExecutionReport delayed on the way out arrives once the clock has moved
    Given the FIX link delays the next ExecutionReport outbound by 1 second
    When alice buys 100 XTKS:7203 at 2499 as a5
    Then order a5 is open with 100 left
    And the FIX link holds 1 messages
    When the clock advances by 1 second
    Then the FIX link holds 0 messages
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: A duplicated ExecutionReport arrives flagged PossDup and the client ignores it
    Given the FIX link duplicates the next ExecutionReport outbound
    When alice buys 100 XTKS:7203 at 2499 as a6
    Then order a6 is open with 100 left
    And the FIX client ignored 1 duplicates
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: A duplicated NewOrderSingle arrives flagged PossDup and the server ignores it
    Given the FIX link duplicates the next NewOrderSingle inbound
    When alice buys 100 XTKS:7203 at 2501 as a7
    Then the trades are:
      | price  | qty | buyer | seller | aggressor |
      | 2500.5 | 100 | alice | mm     | buy       |
    And order m1 is partially filled with 200 left
    And the server ignored 1 duplicates
    And the FIX link fired 1 faults
    And the FIX session is back in sequence

  Scenario: A link cut at an instant comes back, and what the server sent meanwhile is resent
    Given the FIX link disconnects at 10:20
    When alice buys 100 XTKS:7203 at 2490 GTD until 10:30 as g1
    And the clock advances to 10:40
    Then order g1 is expired by GTD
    And the FIX client was resent 1 messages
    And the FIX link fired 1 faults
    And the FIX session is back in sequence
