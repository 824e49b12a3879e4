@wire @faults
Feature: Faults on the FIX link
  The server's FIX link loses or garbles chosen messages. The session layer finds the gap by
  MsgSeqNum (the client's next message, a TestRequest after a second of silence, carries the
  number), asks for a resend, and every order still reaches the book exactly once.

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
