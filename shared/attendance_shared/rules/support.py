"""Attendance support casework: the continuum's stages, the documented lists a case is
described with, which risk flags suggest a case, and who outside the school sees one. Pure.

Sources: *Working together to improve school attendance* (2024) and LA practice, summarised in
the domain reference's "support-first continuum" and "formal and legal stages".
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
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


# What a support plan's actions are, for the impact report to compare like with like. From
# the strategies LA plans and the guidance name; `other` for the rest.
ActionType = Literal[
    "attendance_meeting",
    "home_visit",
    "daily_check_in",
    "mentoring",
    "breakfast_club",
    "transport_support",
    "early_help_referral",
    "school_nurse_referral",
    "camhs_referral",
    "send_support_review",
    "reward_scheme",
    "parenting_support",
    "other",
]
ACTION_TYPES: tuple[ActionType, ...] = get_args(ActionType)
ActionStatus = Literal["open", "done", "dropped"]
# A plan runs at least 6 school weeks before it is reviewed (LA practice: Stockton, East
# Sussex, Wolverhampton), so its review date defaults to the end of the 6th school week.
PLAN_REVIEW_SCHOOL_WEEKS = 6


@dataclass(frozen=True, slots=True)
class PlannedAction:
    due_on: date
    status: str


def plan_problems(
    *, starts_on: date, review_on: date, actions: Sequence[PlannedAction], first_action_index: int = 0
) -> list[tuple[str, str]]:
    """What is wrong with a plan's dates, as (field, message): nothing may fall due before the
    plan starts, and the review comes after the start. `first_action_index` numbers the
    actions as the request does (new actions appended to a plan's existing ones)."""
    problems = []
    if review_on <= starts_on:
        problems.append(("review_on", f"the review ({review_on}) must come after the plan starts ({starts_on})"))
    for index, action in enumerate(actions, start=first_action_index):
        if action.due_on < starts_on:
            problems.append((f"actions[{index}].due_on", f"due {action.due_on}, before the plan starts on {starts_on}"))
    return problems


def overdue_actions(actions: Sequence[PlannedAction], today: date) -> list[int]:
    """The positions of open actions whose due date has passed."""
    return [i for i, a in enumerate(actions) if a.status == "open" and a.due_on < today]
