"""Request and response models of the support API (not tables, not events)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from attendance_shared.api_types import IsoDate
from attendance_shared.bounds import EARLIEST_MOMENT, LATEST_MOMENT, NOTE_MAX, PERSON_NAME_MAX, REASON_MAX, text
from attendance_shared.rules.enforcement import ImprovementKind, NoticeOutcome, WithdrawalGround
from attendance_shared.rules.identifiers import UPN_SHAPE_PATTERN
from attendance_shared.rules.support import (
    ActionStatus,
    ActionType,
    Barrier,
    CaseOutcome,
    CaseStage,
    ContactKind,
    ProfessionalRole,
)

Name = text(PERSON_NAME_MAX, strip=True, min_length=1)
Reason = text(REASON_MAX, strip=True, min_length=1)
Note = text(NOTE_MAX, strip=True)
# The chronology's notes are what an LA's prosecution file quotes: room for a full account.
LongNote = text(4000, strip=True)
NEXT_CURSOR = "Pass as `cursor` to read the next page; null on the last page."
MAX_BARRIERS = 20
MAX_PROFESSIONALS = 20
MAX_ACTIONS = 50


class BarrierEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    barrier: Barrier
    notes: Note | None = None


class Professional(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: ProfessionalRole
    name: Name
    organisation: Name | None = None
    email: text(254, strip=True) | None = None  # type: ignore[valid-type]
    phone: text(32, strip=True) | None = None  # type: ignore[valid-type]


def _no_repeated_barriers(barriers: list[BarrierEntry] | None) -> None:
    if barriers is None:
        return
    seen: set[str] = set()
    for entry in barriers:
        if entry.barrier in seen:
            raise ValueError(f"barrier {entry.barrier!r} is listed twice")
        seen.add(entry.barrier)


class CaseIn(BaseModel):
    """Open a case: at most one is open per pupil per school."""

    model_config = ConfigDict(extra="forbid")

    upn: Annotated[str, StringConstraints(pattern=UPN_SHAPE_PATTERN)]
    stage: CaseStage = "monitor"
    lead: Name = Field(description="The lead practitioner: who the family and other professionals deal with")
    reason: Reason = Field(description="Why the case is opened: the first entry of its stage history")
    barriers: list[BarrierEntry] = Field(default_factory=list, max_length=MAX_BARRIERS)
    professionals: list[Professional] = Field(default_factory=list, max_length=MAX_PROFESSIONALS)
    referred_to_la: bool = False

    @model_validator(mode="after")
    def _barriers_once(self) -> "CaseIn":
        _no_repeated_barriers(self.barriers)
        return self


class CaseChangeIn(BaseModel):
    """Change the lead, the barriers, the professionals, or refer the case to the LA. The
    stage moves only through `/stage`, with a reason."""

    model_config = ConfigDict(extra="forbid")

    lead: Name | None = None
    barriers: list[BarrierEntry] | None = Field(None, max_length=MAX_BARRIERS)
    professionals: list[Professional] | None = Field(None, max_length=MAX_PROFESSIONALS)
    referred_to_la: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> "CaseChangeIn":
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("give at least one of lead, barriers, professionals, referred_to_la")
        _no_repeated_barriers(self.barriers)
        return self


class StageChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: CaseStage
    reason: Reason


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: CaseOutcome
    notes: LongNote | None = None  # type: ignore[valid-type]


class StageChangeOut(BaseModel):
    from_stage: CaseStage | None
    to_stage: CaseStage
    reason: str
    changed_by: str
    changed_at: datetime


class CaseSummary(BaseModel):
    id: uuid.UUID
    school_urn: str
    upn: str
    forename: str | None = Field(None, description="From the register; null until the pupil's record has arrived")
    surname: str | None = None
    year_group: str | None = None
    status: Literal["open", "closed"]
    stage: CaseStage
    lead: str
    barriers: list[BarrierEntry]
    referred_to_la: bool
    origin: Literal["staff", "suggestion"]
    opened_at: datetime
    closed_at: datetime | None
    outcome: CaseOutcome | None
    active_flags: list[str] = Field(description="The pupil's risk flags standing now")
    last_contact_at: datetime | None
    overdue_contact: bool = Field(description="Open, and no contact in the school's last N school days")


class CaseOut(CaseSummary):
    professionals: list[Professional]
    suggestion_id: uuid.UUID | None
    opened_by: str
    closed_by: str | None
    outcome_notes: str | None
    stage_history: list[StageChangeOut]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class BriefAction(BaseModel):
    what: str
    owner: str
    due_on: date
    status: ActionStatus


class BriefPlan(BaseModel):
    target_attendance_percent: float
    review_on: date
    agreed_on: date | None = Field(description="Null until the parents agree it")
    actions: list[BriefAction] = Field(description="The plan's actions that are not dropped")


class CaseBrief(BaseModel):
    """What a Targeting Support Meeting pack says of an open case: stage, lead practitioner,
    barriers, last contact and the agreed actions; no notes and no chronology."""

    case_id: uuid.UUID
    upn: str
    stage: CaseStage
    lead: str
    barriers: list[str]
    referred_to_la: bool
    opened_at: datetime
    last_contact_at: datetime | None
    plan: BriefPlan | None


class CaseBriefPage(BaseModel):
    items: list[CaseBrief]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class PupilCases(BaseModel):
    items: list[CaseOut]


class SuggestionOut(BaseModel):
    id: uuid.UUID
    school_urn: str
    upn: str
    forename: str | None
    surname: str | None
    year_group: str | None
    academic_year: int
    flags: list[str] = Field(description="The flags that suggested the case, first first")
    active_flags: list[str] = Field(description="Those of the pupil's flags standing now")
    status: Literal["pending", "accepted", "dismissed"]
    suggested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    dismissal_reason: str | None
    case_id: uuid.UUID | None


class SuggestionPage(BaseModel):
    items: list[SuggestionOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: Name
    stage: CaseStage = "monitor"
    reason: Reason | None = Field(None, description="Defaults to the flags that suggested the case")
    barriers: list[BarrierEntry] = Field(default_factory=list, max_length=MAX_BARRIERS)

    @model_validator(mode="after")
    def _barriers_once(self) -> "AcceptIn":
        _no_repeated_barriers(self.barriers)
        return self


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ContactIn(BaseModel):
    """One entry of the chronology. Entries are never changed: to correct one, record a new
    entry with `corrects` naming it."""

    model_config = ConfigDict(extra="forbid")

    kind: ContactKind
    happened_at: AwareDatetime = Field(description="When the contact took place, with its UTC offset")
    made_by: Name = Field(description="Who made the contact")
    with_whom: Name = Field(description="Who was contacted: a parent, the pupil, a professional")
    outcome: Reason
    notes: LongNote | None = None  # type: ignore[valid-type]
    corrects: uuid.UUID | None = Field(None, description="The entry this one corrects")

    @model_validator(mode="after")
    def _within_years(self) -> "ContactIn":
        if not EARLIEST_MOMENT <= self.happened_at <= LATEST_MOMENT:
            raise ValueError("happened_at is outside the years the platform records")
        return self


class ContactOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    kind: ContactKind
    happened_at: datetime
    made_by: str
    with_whom: str
    outcome: str
    notes: str | None
    corrects: uuid.UUID | None
    corrected_by: uuid.UUID | None = Field(description="The later entry that corrects this one, if any")
    recorded_by: str
    recorded_at: datetime


class MeetingIn(BaseModel):
    """A meeting with the parents about attendance: each parent with parental responsibility is
    sent an invitation, by post where they have no e-mail or phone."""

    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime = Field(description="When it starts, with its UTC offset; in the future")
    place: Name = Field(description="Where: the school's meeting room, a video call")
    purpose: Reason = Field(description="What it is for, in words a parent reads in the invitation")


class MeetingOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    starts_at: datetime
    place: str
    purpose: str
    created_by: str
    created_at: datetime


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class CaseReadOut(BaseModel):
    reader: str
    role: str
    what: str
    read_at: datetime


class CaseReadPage(BaseModel):
    items: list[CaseReadOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class PenaltyDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_name: Name
    decision: Literal["issue", "not_issue"]
    reason: Reason | None = Field(None, description="Required when no notice is issued")

    @model_validator(mode="after")
    def _reason_for_not_issuing(self) -> "PenaltyDecisionIn":
        if self.decision == "not_issue" and not self.reason:
            raise ValueError("say why no notice is issued (reason)")
        return self


class PenaltyDecisionsIn(BaseModel):
    """One decision per parent of the child: a notice is issued per parent, per child."""

    model_config = ConfigDict(extra="forbid")

    decisions: list[PenaltyDecisionIn] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _each_parent_once(self) -> "PenaltyDecisionsIn":
        names = [d.parent_name.casefold() for d in self.decisions]
        if len(set(names)) != len(names):
            raise ValueError("each parent may be decided on once")
        return self


class PenaltyDecisionOut(BaseModel):
    parent_name: str
    decision: Literal["issue", "not_issue"]
    reason: str | None


class PenaltyConsiderationOut(BaseModel):
    id: uuid.UUID
    school_urn: str
    upn: str
    forename: str | None
    surname: str | None
    reached_on: date | None = Field(description="The day the rolling count reached 10 sessions")
    evidence: dict
    status: Literal["pending", "decided"]
    flag_active: bool = Field(description="Whether the threshold flag still stands; the duty outlives it")
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decisions: list[PenaltyDecisionOut]


class PenaltyConsiderationPage(BaseModel):
    items: list[PenaltyConsiderationOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ActionType
    what: Reason
    owner: Name = Field(description="Who does it: a member of staff, the parent, a professional")
    due_on: IsoDate


class ActionChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    status: ActionStatus | None = None
    due_on: IsoDate | None = None
    owner: Name | None = None


class PlanIn(BaseModel):
    """A support plan: a target, actions with owners and due dates, a review date (by default
    the end of the 6th school week from the start)."""

    model_config = ConfigDict(extra="forbid")

    target_attendance_percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    starts_on: IsoDate | None = Field(None, description="Defaults to today")
    review_on: IsoDate | None = Field(None, description="Defaults to the end of the 6th school week")
    actions: list[ActionIn] = Field(min_length=1, max_length=MAX_ACTIONS)


class PlanChangeIn(BaseModel):
    """Change the target or the review date, add actions, or change an action's status, due
    date or owner. Actions are never removed: drop one with `status: dropped`."""

    model_config = ConfigDict(extra="forbid")

    target_attendance_percent: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    review_on: IsoDate | None = None
    add_actions: list[ActionIn] = Field(default_factory=list, max_length=MAX_ACTIONS)
    action_changes: list[ActionChangeIn] = Field(default_factory=list, max_length=MAX_ACTIONS)

    @model_validator(mode="after")
    def _something(self) -> "PlanChangeIn":
        if (
            self.target_attendance_percent is None
            and self.review_on is None
            and not self.add_actions
            and not self.action_changes
        ):
            raise ValueError("give at least one of target_attendance_percent, review_on, add_actions, action_changes")
        ids = [c.id for c in self.action_changes]
        if len(set(ids)) != len(ids):
            raise ValueError("each action may be changed once per request")
        return self


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreed_by: Name = Field(description="The parent or carer who agreed the plan")
    agreed_on: IsoDate


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewed_on: IsoDate
    by: Name
    notes: LongNote  # type: ignore[valid-type]
    next_review_on: IsoDate | None = Field(None, description="Defaults to 6 school weeks on")


class PlanEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ActionOut(BaseModel):
    id: uuid.UUID
    type: ActionType
    what: str
    owner: str
    due_on: date
    status: ActionStatus
    added_on: date
    overdue: bool


class ReviewOut(BaseModel):
    reviewed_on: date
    by: str
    notes: str
    next_review_on: date


class PlanOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    status: Literal["active", "ended"]
    version: int
    target_attendance_percent: float
    starts_on: date
    review_on: date
    review_overdue: bool
    actions: list[ActionOut]
    reviews: list[ReviewOut]
    agreed_by: str | None
    agreed_on: date | None
    ended_on: date | None
    end_reason: str | None
    created_by: str
    created_at: datetime


class PlanVersionOut(BaseModel):
    version: int
    change: str
    record: dict
    recorded_by: str
    recorded_at: datetime


class ParentActionOut(BaseModel):
    what: str
    owner: str
    due_on: date
    status: ActionStatus


class ParentPlanOut(BaseModel):
    """What a parent sees of the plan they agreed: the target, the actions and the review
    date. Never the notes, the reviews' minutes or the chronology."""

    target_attendance_percent: float
    starts_on: date
    review_on: date
    actions: list[ParentActionOut]
    agreed_by: str | None
    agreed_on: date | None


class ParentPlanView(BaseModel):
    school_urn: str
    upn: str
    plan: ParentPlanOut | None = Field(description="The current plan; null when the pupil has none")


# --- Formal and legal stages ---------------------------------------------------------------
Requirement = text(REASON_MAX, strip=True, min_length=1)


class ContractIn(BaseModel):
    """An attendance contract: agreed with the parents, never in their absence; what they will
    do and the support the school and LA offer; reviewed after about 4 to 6 weeks."""

    model_config = ConfigDict(extra="forbid")

    agreed_with: list[Name] = Field(min_length=1, max_length=4, description="The parents who agreed it, in person")
    agreed_on: IsoDate
    parent_requirements: list[Requirement] = Field(min_length=1, max_length=20)  # type: ignore[valid-type]
    support_offered: list[Requirement] = Field(min_length=1, max_length=20)  # type: ignore[valid-type]
    review_on: IsoDate | None = Field(None, description="Defaults to the end of the 6th school week")


class ContractEndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Reason


class ContractOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    agreed_with: list[str]
    agreed_on: date
    parent_requirements: list[str]
    support_offered: list[str]
    review_on: date
    status: Literal["active", "ended"]
    ended_on: date | None
    outcome: str | None
    created_by: str
    created_at: datetime


class SupervisionOrderIn(BaseModel):
    """An education supervision order made by the Family Court (Children Act 1989 s.36)."""

    model_config = ConfigDict(extra="forbid")

    court_date: IsoDate
    made_on: IsoDate
    supervisor: Name


class SupervisionOrderChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    extend_to: IsoDate | None = Field(None, description="A new expiry: at most 3 years after the order was made")
    discharged_on: IsoDate | None = None

    @model_validator(mode="after")
    def _one(self) -> "SupervisionOrderChangeIn":
        if (self.extend_to is None) == (self.discharged_on is None):
            raise ValueError("give either extend_to or discharged_on")
        return self


class SupervisionOrderOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    court_date: date
    made_on: date
    supervisor: str
    expires_on: date
    extensions: list[dict]
    status: Literal["in_force", "discharged", "expired"]
    discharged_on: date | None
    created_by: str
    created_at: datetime


class NoticeToImproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issued_on: IsoDate
    school_weeks: int = Field(ge=1, le=52, description="The improvement period, within the LA's bounds")
    criterion: ImprovementKind
    min_attendance_percent: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _target(self) -> "NoticeToImproveIn":
        if self.criterion == "attendance_at_least" and self.min_attendance_percent is None:
            raise ValueError("attendance_at_least needs min_attendance_percent")
        if self.criterion == "no_unauthorised_absence" and self.min_attendance_percent is not None:
            raise ValueError("no_unauthorised_absence takes no min_attendance_percent")
        return self


class JudgementOut(BaseModel):
    status: Literal["on_track", "off_track", "met", "not_met"]
    possible: int
    attended: int
    unauthorised: int
    attendance_percent: float | None
    why: str


class NoticeCheckOut(BaseModel):
    checked_on: date
    judgement: JudgementOut


class NoticeToImproveOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    issued_on: date
    school_weeks: int
    period_start: date
    period_end: date
    criterion: ImprovementKind
    criterion_text: str
    min_attendance_percent: float | None
    status: Literal["running", "met", "not_met", "withdrawn"]
    judgement: JudgementOut | None = Field(description="The latest daily check")
    checked_on: date | None
    checks: list[NoticeCheckOut] = Field(default_factory=list, description="Every school day's check")
    created_by: str
    created_at: datetime


class LASupportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nti_min_school_weeks: int = Field(3, ge=1, le=52)
    nti_max_school_weeks: int = Field(6, ge=1, le=52)

    @model_validator(mode="after")
    def _ordered(self) -> "LASupportSettings":
        if self.nti_min_school_weeks > self.nti_max_school_weeks:
            raise ValueError("nti_min_school_weeks must not exceed nti_max_school_weeks")
        return self


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate
    session: Literal["am", "pm"]


class PenaltyNoticeIn(BaseModel):
    """A penalty notice to one parent for one child, on the sessions of unauthorised absence it
    relies on (at least 10 within the rolling 10 school weeks up to the issue date)."""

    model_config = ConfigDict(extra="forbid")

    parent_name: Name
    issued_on: IsoDate
    sessions: list[SessionIn] = Field(min_length=1, max_length=400)


class PenaltyOutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["paid", "withdrawn", "prosecuted"]
    on: IsoDate
    withdrawal_ground: WithdrawalGround | None = None
    notes: Note | None = None

    @model_validator(mode="after")
    def _ground(self) -> "PenaltyOutcomeIn":
        if (self.outcome == "withdrawn") != (self.withdrawal_ground is not None):
            raise ValueError("a withdrawal, and only a withdrawal, gives its withdrawal_ground")
        return self


class PenaltyNoticeOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    parent_name: str
    issued_on: date
    sessions: list[SessionIn]
    lower_amount: int | None = Field(description="Payable within 21 days; null for a second notice (flat rate)")
    full_amount: int = Field(description="Payable within 28 days")
    status: NoticeOutcome
    paid_on: date | None
    amount_paid: int | None
    withdrawal_ground: WithdrawalGround | None
    outcome_on: date | None
    outcome_notes: str | None
    created_by: str
    created_at: datetime


# --- Impact ----------------------------------------------------------------------------------


class ImpactRow(BaseModel):
    kind: str = Field(description="`plan`, or an action type")
    measured: int = Field(description="Interventions measured: their after-window is over")
    mean_before: float | None = Field(description="Mean attendance % over the N school weeks before")
    mean_after: float | None = Field(description="Mean attendance % over the N school weeks from the start")
    mean_change: float | None = Field(description="Mean change, in percentage points")
    share_improved: float | None = Field(description="% of measured interventions whose pupil's attendance rose")
    compared: int = Field(description="Measured interventions with a comparison group")
    compared_mean_change: float | None = Field(description="Mean change of those interventions")
    comparison_pupils: int = Field(description="Comparable pupils, summed over those interventions")
    comparison_mean_change: float | None = Field(description="Their comparable pupils' mean change, same weeks")
    mean_difference: float | None = Field(
        description="compared_mean_change - comparison_mean_change: the estimated effect"
    )
    too_recent: int = Field(description="Started, but the after-window is not over yet")
    no_sessions: int = Field(description="Not measurable: no possible session in a window, or too early in the data")


class ImpactMeasured(BaseModel):
    kind: str
    upn: str
    case_id: str
    started_on: date
    band: str | None = Field(description="The pupil's absence band over the academic year before the start")
    before: float | None
    after: float | None
    change: float | None
    comparison_change: float | None
    comparison_pupils: int


class ImpactReport(BaseModel):
    school_urn: str | None
    la_code: str | None
    start: date = Field(description="Interventions that started from this day")
    end: date = Field(description="... to this day")
    weeks: int = Field(description="N: school weeks in each window")
    method: str
    rows: list[ImpactRow]
    interventions: list[ImpactMeasured] = Field(description="Each measured intervention (a school's report only)")
