"""The letters a support case sends through notification-service, by the rule that sends them,
and how a case's chronology records each. Pure: no I/O.

notification-service names its messages by these rules; support-service reads their outcomes
(notifications.outcomes.v1) and logs each letter in the pupil's case chronology, so both use
the names here.
"""

from typing import Literal

NOTICE_TO_IMPROVE_LETTER = "notice-to-improve-letter"
PENALTY_NOTICE_LETTER = "penalty-notice-letter"
MEETING_INVITATION = "attendance-meeting-invitation"

# What the chronology calls each.
CASE_LETTERS: dict[str, str] = {
    NOTICE_TO_IMPROVE_LETTER: "Notice to Improve letter",
    PENALTY_NOTICE_LETTER: "Penalty notice letter",
    MEETING_INVITATION: "Invitation to an attendance meeting",
}

ChronologyKind = Literal["letter", "email", "text"]
# The chronology's kind of contact for each channel a message went by (none: it could not go,
# and the entry says why).
CHRONOLOGY_KIND_OF_CHANNEL: dict[str, ChronologyKind] = {
    "post": "letter",
    "email": "email",
    "sms": "text",
    "push": "text",
    "none": "letter",
}
CHANNEL_WORDS = {"post": "by post", "email": "by e-mail", "sms": "by text message", "push": "by app notification"}


def chronology_outcome(rule: str, channel: str, outcome: str, reason: str | None) -> str | None:
    """The chronology's line for a letter's outcome, or None for one it does not record
    (a delivery report after `sent`, or a rule that is not a case's letter)."""
    what = CASE_LETTERS.get(rule)
    if what is None or outcome not in ("sent", "failed", "undeliverable", "cancelled"):
        return None
    if outcome == "sent":
        return f"{what} sent {CHANNEL_WORDS.get(channel, 'by ' + channel)}"
    return f"{what} not sent ({outcome}): {reason or 'no reason given'}"
