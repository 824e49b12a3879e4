@mocks
Feature: KYC onboarding mock
  Applications are checked in virtual time (400 ms each, four at once): approved, rejected, or
  sent to manual review for a reviewer to settle. Every approved application opens an account
  with its own referral code, which later applicants may name.

  Scenario: KYC approval, rejection and review
    Given the onboarding mock
    When these applications are submitted:
      | name            | born       | country |
      | Ada Lovelace    | 1990-05-01 | GB      |
    Then the applications are:
      | name         | status  |
      | Ada Lovelace | pending |
    When 1 second passes
    And these applications are submitted:
      | name            | born       | country | document        | document name | referred by  |
      | Bob Smith       | 1985-02-03 | FR      | id_card         |               | Ada Lovelace |
      | Young Tim       | 2015-06-01 | GB      |                 |               |              |
      | Kim Jong        | 1980-01-01 | KP      | passport        |               |              |
      | Carol White     | 1975-09-09 | GB      | driving_licence | C. White      |              |
      | Dmitri Ivanov   | 1970-03-03 | RU      |                 |               |              |
    And 1 second passes
    Then the applications are:
      | name          | status   | reason                        | account |
      | Ada Lovelace  | approved |                               | yes     |
      | Bob Smith     | approved |                               | yes     |
      | Young Tim     | rejected | under 18                      | no      |
      | Kim Jong      | rejected | country KP is not served      | no      |
      | Carol White   | review   | name on the document differs  | no      |
      | Dmitri Ivanov | review   | enhanced due diligence        | no      |
    And Bob Smith was referred by Ada Lovelace
    When reviewer rev1 approves the application of Carol White
    And reviewer rev2 rejects the application of Dmitri Ivanov
    Then the applications are:
      | name          | status   | account |
      | Carol White   | approved | yes     |
      | Dmitri Ivanov | rejected | no      |
