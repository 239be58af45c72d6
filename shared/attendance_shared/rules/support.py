"""Attendance support casework: the continuum's stages, the documented lists a case is
described with, which risk flags suggest a case, and who outside the school sees one. Pure.

Sources: *Working together to improve school attendance* (2024) and LA practice, summarised in
the domain reference's "support-first continuum" and "formal and legal stages".
"""

from dataclasses import dataclass
from typing import Literal, get_args

# The guidance's continuum after "Expect" (which is every pupil): a case moves along it, and
# may move back when support works. Enforcement is the last resort.
CaseStage = Literal["monitor", "listen_and_understand", "facilitate_support", "formalise_support", "enforce"]
CASE_STAGES: tuple[CaseStage, ...] = get_args(CaseStage)
# An LA officer sees a school's case once it is formal (attendance contract, education
# supervision order, Notice to Improve) or enforcement, or when the school refers it.
LA_VISIBLE_STAGES: frozenset[str] = frozenset({"formalise_support", "enforce"})

Barrier = Literal[
    "illness_or_medical",
    "send",
    "anxiety_or_ebsa",  # anxiety or emotionally based school avoidance
    "bullying",
    "transport",
    "young_carer",
    "family_circumstances",
    "housing",
    "other",
]
BARRIERS: tuple[Barrier, ...] = get_args(Barrier)

ProfessionalRole = Literal["social_worker", "early_help", "school_nurse", "virtual_school", "other"]

ContactKind = Literal[
    "call",
    "letter",
    "email",
    "text",
    "meeting",
    "home_visit",
    "referral_early_help",
    "referral_school_nurse",
    "referral_social_care",
]
CONTACT_KINDS: tuple[ContactKind, ...] = get_args(ContactKind)

CaseOutcome = Literal[
    "attendance_improved",  # support worked: the case is no longer needed
    "pupil_left_school",
    "transferred_to_la",  # the LA (or another agency) now leads
    "no_longer_required",  # the concern was unfounded or resolved otherwise
    "other",
]

# The risk flags (analytics' `RiskFlagType`) that suggest a support case. The others are about
# the school's paperwork (part-time reviews) or a return (long sickness, 20 days), not a
# reason by themselves to open casework.
SUGGESTING_FLAGS: frozenset[str] = frozenset(
    {
        "persistent_absence",
        "severe_absence",
        "at_risk_of_persistent_absence",
        "penalty_notice_threshold",
        "continuous_absence_10_days",
        "unexplained_absence_overdue",
    }
)
# Reaching this flag means a penalty notice must be considered (National Framework 2024):
# the duty outlives the flag, which clears once the rolling window has passed.
PENALTY_CONSIDERATION_FLAG = "penalty_notice_threshold"


@dataclass(frozen=True, slots=True)
class SuggestionDecision:
    """What a raised flag does to a pupil's suggestions: nothing, add itself to the pending
    suggestion, or start a new one."""

    action: Literal["ignore", "add", "new"]
    why: str


def on_flag_raised(
    flag: str, *, case_open: bool, pending_flags: frozenset[str] | None, flags_suggested_this_year: frozenset[str]
) -> SuggestionDecision:
    """A raised flag suggests a case unless the pupil already has an open case, or the same
    flag was already put to staff this academic year (accepted or dismissed): a flag that
    clears and rises again around a threshold, or an analytics rebuild raising it again,
    must not ask the same question twice. A dismissal is an answer for the year."""
    if flag not in SUGGESTING_FLAGS:
        return SuggestionDecision("ignore", "this flag does not suggest a case")
    if case_open:
        return SuggestionDecision("ignore", "the pupil has an open support case")
    if pending_flags is not None:
        if flag in pending_flags:
            return SuggestionDecision("ignore", "already on the pending suggestion")
        return SuggestionDecision("add", "added to the pending suggestion")
    if flag in flags_suggested_this_year:
        return SuggestionDecision("ignore", "already put to staff this academic year")
    return SuggestionDecision("new", "a new suggestion")


def visible_to_la(stage: str, referred_to_la: bool) -> bool:
    return referred_to_la or stage in LA_VISIBLE_STAGES
