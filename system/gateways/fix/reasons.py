"""FIX 4.4 SessionRejectReason (373) and BusinessRejectReason (380) codes with their texts."""

from __future__ import annotations

from enum import IntEnum


class SessionRejectReason(IntEnum):
    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
    UNDEFINED_TAG = 3
    TAG_SPECIFIED_WITHOUT_A_VALUE = 4
    VALUE_IS_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    DECRYPTION_PROBLEM = 7
    SIGNATURE_PROBLEM = 8
    COMPID_PROBLEM = 9
    SENDING_TIME_ACCURACY_PROBLEM = 10
    INVALID_MSG_TYPE = 11
    XML_VALIDATION_ERROR = 12
    TAG_APPEARS_MORE_THAN_ONCE = 13
    TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER = 14
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER = 15
    INCORRECT_NUM_IN_GROUP_COUNT = 16
    NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER = 17
    OTHER = 99


# The texts QuickFIX puts in Text (58): its acceptance suite compares them byte for byte.
SESSION_REJECT_TEXT: dict[SessionRejectReason, str] = {
    SessionRejectReason.INVALID_TAG_NUMBER: "Invalid tag number",
    SessionRejectReason.REQUIRED_TAG_MISSING: "Required tag missing",
    SessionRejectReason.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE: "Tag not defined for this message type",
    SessionRejectReason.UNDEFINED_TAG: "Undefined Tag",
    SessionRejectReason.TAG_SPECIFIED_WITHOUT_A_VALUE: "Tag specified without a value",
    SessionRejectReason.VALUE_IS_INCORRECT: "Value is incorrect (out of range) for this tag",
    SessionRejectReason.INCORRECT_DATA_FORMAT: "Incorrect data format for value",
    SessionRejectReason.DECRYPTION_PROBLEM: "Decryption problem",
    SessionRejectReason.SIGNATURE_PROBLEM: "Signature problem",
    SessionRejectReason.COMPID_PROBLEM: "CompID problem",
    SessionRejectReason.SENDING_TIME_ACCURACY_PROBLEM: "SendingTime accuracy problem",
    SessionRejectReason.INVALID_MSG_TYPE: "Invalid MsgType",
    SessionRejectReason.XML_VALIDATION_ERROR: "XML Validation error",
    SessionRejectReason.TAG_APPEARS_MORE_THAN_ONCE: "Tag appears more than once",
    SessionRejectReason.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER: "Tag specified out of required order",
    SessionRejectReason.REPEATING_GROUP_FIELDS_OUT_OF_ORDER: "Repeating group fields out of order",
    SessionRejectReason.INCORRECT_NUM_IN_GROUP_COUNT: "Incorrect NumInGroup count for repeating group",
    SessionRejectReason.NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER: (
        "Non Data Value includes Field Delimiter (SOH character)"
    ),
    SessionRejectReason.OTHER: "Other",
}


class BusinessRejectReason(IntEnum):
    OTHER = 0
    UNKNOWN_ID = 1
    UNKNOWN_SECURITY = 2
    UNSUPPORTED_MESSAGE_TYPE = 3
    APPLICATION_NOT_AVAILABLE = 4
    CONDITIONALLY_REQUIRED_FIELD_MISSING = 5
    NOT_AUTHORIZED = 6
    DELIVERTO_FIRM_NOT_AVAILABLE = 7


class SessionReject(Exception):
    """A message the session layer refuses with a session-level Reject (35=3)."""

    def __init__(self, reason: SessionRejectReason, tag: int | None = None, text: str | None = None) -> None:
        self.reason = reason
        self.tag = tag
        self.text = text if text is not None else SESSION_REJECT_TEXT[reason]
        super().__init__(f"{self.text} (373={int(reason)}" + (f", 371={tag})" if tag is not None else ")"))


class BusinessReject(Exception):
    """Raised by an application to answer a message with a BusinessMessageReject (35=j)."""

    def __init__(self, reason: BusinessRejectReason, text: str, ref_id: str | None = None) -> None:
        self.reason = reason
        self.text = text
        self.ref_id = ref_id
        super().__init__(text)


class UnsupportedMessageType(BusinessReject):
    def __init__(self) -> None:
        super().__init__(BusinessRejectReason.UNSUPPORTED_MESSAGE_TYPE, "Unsupported Message Type")
