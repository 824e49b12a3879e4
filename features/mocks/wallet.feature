@mocks
Feature: Custody wallet mock
  Deposits are credited after the asset's confirmations, counted in the scenario's virtual time
  (BTC: 3 confirmations, a block every 10 minutes). Withdrawals go only to allow-listed addresses.

  Scenario: A deposit credited after its confirmations
    Given the wallet mock
    When a deposit of 0.5 BTC to alice is seen on chain as tx1
    Then deposit tx1 has 1 confirmations and is pending
    And alice has 0 BTC available
    When 10 minutes pass
    Then deposit tx1 has 2 confirmations and is pending
    When 10 minutes pass
    Then deposit tx1 has 3 confirmations and is credited
    And alice has 0.5 BTC available

  Scenario: A withdrawal to an unknown address is refused
    Given the wallet mock
    When a deposit of 1 BTC to alice is seen on chain as tx2
    And 1 hour passes
    And alice withdraws 0.1 BTC to bc1qsomeoneelse
    Then the wallet refused it with HTTP 403 naming the address
    And alice has 1 BTC available
    When alice withdraws 0.1 BTC to bc1qalicecoldstorage0000000000000000000
    Then the wallet accepted it
    And alice has 0.89998 BTC available
