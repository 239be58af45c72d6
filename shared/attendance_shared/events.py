"""The event envelope (CloudEvents attribute names, JSON) and every event payload.

Payloads are versioned models of their own: never a table class or an API schema.
Consumers call `parse_event`, which refuses anything that does not validate.
"""

import os
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Union, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)
from typing_extensions import TypedDict

from attendance_shared.bounds import (
    EARLIEST_DAY,
    INT32_MAX,
    LATEST_DAY,
    MAX_REVISION,
    AddressLine,
    BoundedDate,
    Email,
    Label,
    Moment,
    OrganisationName,
    PersonName,
    Phone,
    Postcode,
    ReasonText,
    Revision,
    Town,
)
from attendance_shared.rules.codes import ATTENDANCE_CODES
from attendance_shared.rules.cohorts import EthnicityCode
from attendance_shared.rules.deletion_grounds import DeletionGround
from attendance_shared.rules.enforcement import ImprovementKind
from attendance_shared.rules.identifiers import (
    ESTABLISHMENT_NUMBER_PATTERN,
    LA_CODE_PATTERN,
    TRUST_ID_PATTERN,
    UPN_SHAPE_PATTERN,
    URN_PATTERN,
)
from attendance_shared.rules.languages import LanguageCode
from attendance_shared.rules.leave import LeaveOutcome, LeaveReason, LeaveSessions, PartTimeReason, WeekSession
from attendance_shared.rules.support import ActionType, Barrier, CaseOutcome, CaseStage
from attendance_shared.rules.thresholds import MAX_MINUTES_LATE, UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS

URN = Annotated[str, StringConstraints(pattern=URN_PATTERN)]
LACode = Annotated[str, StringConstraints(pattern=LA_CODE_PATTERN)]
UPN = Annotated[str, StringConstraints(pattern=UPN_SHAPE_PATTERN)]
Session = Literal["am", "pm"]
# A registration (form) group as the school names it: "7B", "Oak", "11X2".
RegistrationGroup = Annotated[str, StringConstraints(min_length=1, max_length=20, strip_whitespace=True)]


def _known_code(value: str) -> str:
    if value not in ATTENDANCE_CODES:
        raise ValueError(f"{value!r} is not a 2024 attendance code")
    return value


AttendanceCodeStr = Annotated[str, AfterValidator(_known_code)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(Payload):
    lines: tuple[AddressLine, ...] = Field(min_length=1, max_length=5)
    town: Town | None = None
    postcode: Postcode


class Contact(Payload):
    name: PersonName
    relationship: Label | None = None
    email: Email | None = None
    phone: Phone | None = None
    preferred_channel: Literal["email", "sms", "push", "post"] | None = None
    # Added later, with defaults, so older events still parse. Regular attendance summaries go
    # to every parent the pupil lives with, and to a parent living elsewhere who has parental
    # responsibility (at `address`, when letters must go by post).
    lives_with_pupil: bool = True
    parental_responsibility: bool = True
    address: Address | None = Field(None, description="Only for a contact who does not live at the pupil's address")
    language: LanguageCode | None = Field(None, description="Preferred language, ISO 639-1 ('en', 'pl', 'ur')")


class SocialWorker(Payload):
    """A professional attached to a pupil: social worker, youth offending team worker or the
    Virtual School contact of a looked-after child."""

    name: PersonName
    email: Email | None = None
    phone: Phone | None = None


class PreviousSchool(Payload):
    urn: URN | None = None
    name: OrganisationName


SchoolPhase = Literal["nursery", "primary", "middle", "secondary", "all_through", "special", "alternative_provision"]
SENStatus = Literal["none", "sen_support", "ehcp"]
Sex = Literal["F", "M"]


class SchoolTrust(Payload):
    """The multi-academy trust or federation a school belongs to, from the day it joined."""

    trust_id: Annotated[str, StringConstraints(pattern=TRUST_ID_PATTERN)] = Field(
        description="The trust's or federation's group UID in Get Information about Schools"
    )
    name: OrganisationName
    kind: Literal["multi_academy_trust", "single_academy_trust", "federation"]
    joined_on: BoundedDate


class SchoolUpsertedV1(Payload):
    urn: URN
    la_code: LACode
    establishment_number: Annotated[str, StringConstraints(pattern=ESTABLISHMENT_NUMBER_PATTERN)] | None = None
    name: OrganisationName
    phase: SchoolPhase | None = None
    # Added after v1 was first published, so each has a default: older events still parse.
    am_register_closes: time = time(9, 0)
    pm_register_closes: time = time(13, 30)
    unexplained_absence_days: int = UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS
    trust: SchoolTrust | None = None


class CalendarTerm(Payload):
    name: Label
    start: date
    end: date
    half_term_start: date | None = None
    half_term_end: date | None = None


class CalendarClosure(Payload):
    day: date
    kind: Literal["inset", "planned_closure"]
    session: Session | None = None
    reason: ReasonText | None = None


class SchoolCalendarSetV1(Payload):
    """A school's calendar for one academic year, whole: analytics derives school weeks,
    half-terms and terms from it."""

    school_urn: URN
    la_code: LACode
    academic_year: int = Field(ge=EARLIEST_DAY.year, le=LATEST_DAY.year)
    terms: tuple[CalendarTerm, ...] = Field(max_length=6)
    closures: tuple[CalendarClosure, ...] = Field((), max_length=366)

    def stored_row(self) -> dict[str, Any]:
        """The calendar as a service's calendar projection stores it (terms and closures as
        JSON), which `rules.calendar.calendar_from_values` reads back."""
        return {
            "school_urn": self.school_urn,
            "academic_year": self.academic_year,
            "terms": [t.model_dump(mode="json") for t in self.terms],
            "closures": [c.model_dump(mode="json") for c in self.closures],
        }


class PupilAdmittedV1(Payload):
    school_urn: URN
    la_code: LACode
    upn: UPN
    legal_surname: PersonName
    legal_forename: PersonName
    date_of_birth: BoundedDate
    year_group: Annotated[str, StringConstraints(max_length=4)]
    admission_date: BoundedDate
    contacts: tuple[Contact, ...] = Field((), max_length=10)
    social_worker: SocialWorker | None = None
    # Added after v1 was first published, so each has a default: older events still parse.
    sex: Sex | None = None
    preferred_surname: PersonName | None = None
    preferred_forename: PersonName | None = None
    address: Address | None = None
    previous_school: PreviousSchool | None = None
    boarder: bool = False
    fsm_eligible: bool = False
    pupil_premium: bool = False
    sen_status: SENStatus = "none"
    eal: bool = False
    looked_after: bool = False
    youth_offending_worker: SocialWorker | None = None
    virtual_school_contact: SocialWorker | None = None
    # The cohort fields of the DfE's daily collection (attendance_shared.rules.cohorts).
    ethnicity: EthnicityCode | None = None
    previously_looked_after: bool = False
    child_in_need: bool = False
    child_protection_plan: bool = False
    registration_group: RegistrationGroup | None = None
    expected_leaving_date: BoundedDate | None = None


class PupilUpdatedV1(PupilAdmittedV1):
    """The pupil's whole record as it is from `effective_from` on, so a projection can tell
    who the pupil was on each date (cohort analysis)."""

    effective_from: BoundedDate


class PupilDeletedV1(Payload):
    """Deleted from the admission register on a regulation-9 ground; on roll until `left_on`."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    left_on: BoundedDate
    ground: DeletionGround
    # The day the ground was met, when earlier than the deletion: the deletion return is due
    # from then. Absent from events written before it existed: `left_on` then.
    ground_met_on: BoundedDate | None = None
    destination_school_urn: URN | None = None
    destination_school_name: OrganisationName | None = None
    destination_start_date: BoundedDate | None = None


class PupilRecordsRemovedV1(Payload):
    """Every register entry of the pupil at the school is past its 6 years, and the pupil is
    off roll: register-service has removed the pupil, and every reader removes what it keeps
    of them (attendance_shared.rules.retention)."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    # The day the newest of the pupil's register entries was made.
    last_entry_on: BoundedDate
    removed_on: BoundedDate


def _stored_row(mark: "SessionMark") -> dict[str, Any]:
    return {
        "school_urn": mark.school_urn,
        "upn": mark.upn,
        "date": mark.date,
        "session": mark.session,
        "code": mark.code,
        "revision": mark.revision,
    }


class SessionMarkedV1(Payload):
    """One session's mark, as first recorded (revision 1) or as replaced by a later revision.
    A register's marks are published as one `RegisterMarkedV1` since version 2 of the stream's
    contract; this is still read, for the register's log holds six years of registers published
    a mark each."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    date: BoundedDate
    session: Session
    code: AttendanceCodeStr
    previous_code: AttendanceCodeStr | None = None
    revision: int = Field(ge=1, le=MAX_REVISION)
    recorded_at: Moment
    reason: ReasonText | None = None
    minutes_late: int | None = Field(None, ge=1, le=MAX_MINUTES_LATE)  # L and U only

    def stored_row(self) -> dict[str, Any]:
        """The session's code at its revision, as a consumer's projection of marks stores it."""
        return _stored_row(self)


class MarkAmendedV1(SessionMarkedV1):
    reason: ReasonText


# More rows than fit in `MAX_EVENT_BYTES` at their shortest: the size decides, this only bounds
# what a reader is asked to validate.
MAX_REGISTER_ROWS = 10_000
MinutesLate = Annotated[int, Field(ge=1, le=MAX_MINUTES_LATE)]
# One pupil's mark in a register's event, as a JSON array:
# [upn, code, revision, previous_code, minutes_late, reason], the nulls written out.
RegisterRow = tuple[UPN, AttendanceCodeStr, Revision, AttendanceCodeStr | None, MinutesLate | None, ReasonText | None]


class RegisterMarkedV1(Payload):
    """The marks of one register recorded together (attendance.marks.v1, keyed by the school's
    URN): the school, day, session and time once, and each pupil's mark as a short row. Each
    row means what a `SessionMarkedV1` of the same values means; `session_marks` reads them as
    such. A register too large for one event is published as several, each whole."""

    school_urn: URN
    la_code: LACode
    date: BoundedDate
    session: Session
    recorded_at: Moment
    marks: tuple[RegisterRow, ...] = Field(min_length=1, max_length=MAX_REGISTER_ROWS)


class RegisterMark(NamedTuple):
    """One row of a `RegisterMarkedV1`, read as its single mark: the attributes a
    `SessionMarkedV1` has, without building a model for each of a register's thousand rows."""

    school_urn: str
    la_code: str
    upn: str
    date: date
    session: str
    code: str
    previous_code: str | None
    revision: int
    recorded_at: datetime
    reason: str | None
    minutes_late: int | None

    def stored_row(self) -> dict[str, Any]:
        return _stored_row(self)


# A mark as its reader sees it: a single mark's event, or one row of a register's.
SessionMark = SessionMarkedV1 | RegisterMark


def register_marks(register: RegisterMarkedV1) -> list[RegisterMark]:
    school, la, day, session, at = (
        register.school_urn,
        register.la_code,
        register.date,
        register.session,
        register.recorded_at,
    )
    return [
        RegisterMark(school, la, upn, day, session, code, previous, revision, at, reason, late)
        for upn, code, revision, previous, late, reason in register.marks
    ]


def session_marks(payloads: Iterable[Payload]) -> list[SessionMark]:
    """Every session mark among `payloads`, whether published one by one (amendments, and
    registers before `RegisterMarkedV1`) or as a register's rows."""
    marks: list[SessionMark] = []
    for data in payloads:
        if isinstance(data, SessionMarkedV1):
            marks.append(data)
        elif isinstance(data, RegisterMarkedV1):
            marks.extend(register_marks(data))
    return marks


def carries_marks(payload: Payload) -> bool:
    return isinstance(payload, SessionMarkedV1 | RegisterMarkedV1)


RiskFlagType = Literal[
    "persistent_absence",  # overall absence >= 10% of possible sessions this academic year
    "severe_absence",  # >= 50%
    "at_risk_of_persistent_absence",  # inside the warning band below 10%, and attendance falling
    "penalty_notice_threshold",  # 10 sessions of G, N, O or U within a rolling 10 school weeks
    "long_sickness",  # illness reaching 15 school days in the year: a sickness-return candidate
    "unexplained_absence_overdue",  # an N still standing after the school-day limit
    "continuous_absence_10_days",  # 10 continuous school days unauthorised: attendance-return candidate
    "continuous_absence_20_days",  # 20 continuous school days: the deletion ground 9(1)(i) warning
    "part_time_review_overdue",  # a part-time timetable whose review date has passed without a review
    "part_time_past_end",  # a part-time timetable still running after its end date
]
RISK_FLAG_TYPES: tuple[RiskFlagType, ...] = get_args(RiskFlagType)


class FlagEvidence(Payload):
    """What made a flag that counts sessions or days: how many, of what, over which dates."""

    count: int = Field(ge=0, le=INT32_MAX)
    unit: Literal["sessions", "school_days"]
    since: BoundedDate
    until: BoundedDate
    # Penalty-notice threshold only: the day the rolling count rose to 10, when a notice must
    # be considered (None when it was reached last year and has held since).
    reached_on: BoundedDate | None = None


class RiskFlagChangedV1(Payload):
    """A flag raised or cleared, with the figures that decided it."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    flag: RiskFlagType
    academic_year: int = Field(ge=EARLIEST_DAY.year, le=LATEST_DAY.year)
    possible_sessions: int = Field(ge=0, le=INT32_MAX)
    absent_sessions: int = Field(ge=0, le=INT32_MAX)
    overall_absence_rate: float | None = Field(ge=0, le=100, allow_inf_nan=False)  # percent
    as_of: BoundedDate
    evidence: FlagEvidence | None = None


class RiskFlagRaisedV1(RiskFlagChangedV1):
    pass


class RiskFlagClearedV1(RiskFlagChangedV1):
    pass


NotificationOutcome = Literal["sent", "delivered", "failed", "cancelled", "undeliverable"]


class NotificationOutcomeV1(Payload):
    """What became of one message, for the audit trail: which rule about which pupil, to which
    kind of recipient on which channel, and why it failed. Never the text or the address: an
    auditor needs to know that a parent was told, not what or where."""

    message_id: int
    school_urn: URN
    upn: UPN | None = None  # None: a message about the school, not a pupil
    rule: str
    about_date: date
    session: Session | None = None
    stage: int | None = None
    recipient_role: str
    contact_index: int | None = None
    channel: Literal["email", "sms", "push", "post", "none"]
    outcome: NotificationOutcome
    reason: str | None = None
    provider: str | None = None
    attempts: int
    resent_from: int | None = None
    occurred_at: datetime


class RegisterMissingV1(Payload):
    """A session's register still had no mark a set time after it closed (attendance.schools.v1,
    keyed by URN): once per school, day and session, for the attendance lead to be reminded.
    With `registration_group`, the school's register was taken but that class's was not: none
    of its `pupils` on roll has a mark."""

    school_urn: URN
    la_code: LACode
    date: BoundedDate
    session: Session
    closes_at: Moment
    checked_at: Moment
    registration_group: RegistrationGroup | None = None
    pupils: int | None = Field(None, ge=1, le=INT32_MAX)


class PlannedSession(Payload):
    date: BoundedDate
    session: Session


# A leave may cover at most a school year's sessions; the school's own limit is far lower.
MAX_PLANNED_SESSIONS = 400


class LeaveRequestedV1(Payload):
    """A parent or staff asked in advance for leave of absence (attendance.pupils.v1, keyed by
    pupil, so it follows the pupil's admission)."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    request_id: uuid.UUID
    first_day: BoundedDate
    last_day: BoundedDate
    sessions: LeaveSessions
    reason: LeaveReason
    requested_by_role: Literal["parent", "staff"]
    requested_at: Moment


class LeaveDecidedV1(Payload):
    """What the school decided on a leave request, and each later change (reduced, cancelled):
    `decision` counts them, so each is told to the parents once. `sessions` are the sessions
    now agreed (none when refused or cancelled); each is a planned mark with `code`."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    request_id: uuid.UUID
    decision: int = Field(ge=1, le=1000)
    outcome: LeaveOutcome
    reason: LeaveReason
    code: AttendanceCodeStr | None = None
    first_day: BoundedDate
    last_day: BoundedDate
    sessions: tuple[PlannedSession, ...] = Field((), max_length=MAX_PLANNED_SESSIONS)
    decision_reason: ReasonText | None = None
    decided_by_role: Literal["parent", "staff"]
    decided_at: Moment


class PartTimeTimetableSetV1(Payload):
    """A part-time timetable as it now stands: agreed, extended, reviewed or ended. Carries no
    free text (the reason note stays in the register); `status` says whether it is current."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    timetable_id: uuid.UUID
    version: int = Field(ge=1, le=MAX_REVISION)
    reason: PartTimeReason
    attended_sessions: tuple[WeekSession, ...] = Field(min_length=1, max_length=9)
    start_date: BoundedDate
    end_date: BoundedDate
    next_review_on: BoundedDate | None = None
    last_reviewed_on: BoundedDate | None = None
    extensions: int = Field(0, ge=0, le=INT32_MAX)
    parents_consent_on: BoundedDate | None = None
    la_notified_on: BoundedDate | None = None
    social_worker_told: bool = False
    virtual_school_told: bool = False
    status: Literal["active", "ended"]
    ended_on: BoundedDate | None = None


class SupportCaseChangedV1(Payload):
    """A pupil's attendance support case as it now stands (support.cases.v1, keyed by pupil):
    opened, moved along the continuum, or closed. `change` counts the case's changes, so a
    reader applies each once and in order. No free text: notes and the chronology stay in
    support-service, which logs every read of them."""

    case_id: uuid.UUID
    school_urn: URN
    la_code: LACode
    upn: UPN
    change: int = Field(ge=1, le=MAX_REVISION)
    stage: CaseStage
    previous_stage: CaseStage | None = None
    status: Literal["open", "closed"]
    origin: Literal["staff", "suggestion"]
    barriers: tuple[Barrier, ...] = Field((), max_length=20)
    referred_to_la: bool = False
    opened_at: Moment
    changed_at: Moment
    outcome: CaseOutcome | None = None


class SupportCaseOpenedV1(SupportCaseChangedV1):
    pass


class SupportCaseStageChangedV1(SupportCaseChangedV1):
    pass


class SupportCaseUpdatedV1(SupportCaseChangedV1):
    """The barriers or the LA referral changed; the stage did not."""


class SupportCaseClosedV1(SupportCaseChangedV1):
    pass


class SupportPlanAgreedV1(Payload):
    """A parent agreed a support plan (support.cases.v1, keyed by pupil): its target, review
    date and the kinds of action in it, for letters and the LA's Targeting Support Meeting
    pack. The actions' wording stays in support-service."""

    case_id: uuid.UUID
    plan_id: uuid.UUID
    version: int = Field(ge=1, le=MAX_REVISION)
    school_urn: URN
    la_code: LACode
    upn: UPN
    target_attendance_percent: float = Field(ge=0, le=100, allow_inf_nan=False)
    starts_on: BoundedDate
    review_on: BoundedDate
    agreed_on: BoundedDate
    action_types: tuple[ActionType, ...] = Field((), max_length=50)


class SupportPlanReviewDueV1(Payload):
    """A support plan's review date has come (once per review date)."""

    case_id: uuid.UUID
    plan_id: uuid.UUID
    school_urn: URN
    la_code: LACode
    upn: UPN
    review_on: BoundedDate


class NoticeToImproveV1(Payload):
    """A Notice to Improve issued (support.cases.v1, keyed by pupil), or its period concluded
    with `status` met or not met: the last step before a penalty notice."""

    case_id: uuid.UUID
    notice_id: uuid.UUID
    school_urn: URN
    la_code: LACode
    upn: UPN
    issued_on: BoundedDate
    period_start: BoundedDate
    period_end: BoundedDate
    criterion: ImprovementKind
    min_attendance_percent: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    status: Literal["running", "met", "not_met", "withdrawn"]


class NoticeToImproveIssuedV1(NoticeToImproveV1):
    pass


class NoticeToImproveConcludedV1(NoticeToImproveV1):
    pass


class PenaltyNoticeIssuedV1(Payload):
    """A penalty notice issued to one parent for one child (support.cases.v1, keyed by pupil)."""

    case_id: uuid.UUID
    notice_id: uuid.UUID
    school_urn: URN
    la_code: LACode
    upn: UPN
    parent_name: PersonName
    issued_on: BoundedDate
    sessions: tuple[PlannedSession, ...] = Field(min_length=1, max_length=MAX_PLANNED_SESSIONS)
    lower_amount: int | None = Field(None, ge=0, le=10_000)
    full_amount: int = Field(ge=0, le=10_000)


class AttendanceMeetingArrangedV1(Payload):
    """A meeting with the parents about attendance, arranged on a support case (support.cases.v1,
    keyed by pupil): notification-service sends each parent with parental responsibility an
    invitation."""

    case_id: uuid.UUID
    meeting_id: uuid.UUID
    school_urn: URN
    la_code: LACode
    upn: UPN
    starts_at: Moment
    place: Label
    purpose: ReasonText


EVENT_TYPES: dict[str, type[Payload]] = {
    "uk.attendance.school.upserted.v1": SchoolUpsertedV1,
    "uk.attendance.pupil.admitted.v1": PupilAdmittedV1,
    "uk.attendance.pupil.updated.v1": PupilUpdatedV1,
    "uk.attendance.pupil.deleted.v1": PupilDeletedV1,
    "uk.attendance.pupil.records-removed.v1": PupilRecordsRemovedV1,
    "uk.attendance.school.calendar-set.v1": SchoolCalendarSetV1,
    "uk.attendance.session.marked.v1": SessionMarkedV1,
    "uk.attendance.mark.amended.v1": MarkAmendedV1,
    "uk.attendance.register.marked.v1": RegisterMarkedV1,
    "uk.attendance.register.missing.v1": RegisterMissingV1,
    "uk.attendance.leave.requested.v1": LeaveRequestedV1,
    "uk.attendance.leave.decided.v1": LeaveDecidedV1,
    "uk.attendance.part-time-timetable.set.v1": PartTimeTimetableSetV1,
    "uk.attendance.risk-flag.raised.v1": RiskFlagRaisedV1,
    "uk.attendance.risk-flag.cleared.v1": RiskFlagClearedV1,
    "uk.attendance.notification.outcome.v1": NotificationOutcomeV1,
    "uk.attendance.support-case.opened.v1": SupportCaseOpenedV1,
    "uk.attendance.support-case.stage-changed.v1": SupportCaseStageChangedV1,
    "uk.attendance.support-case.updated.v1": SupportCaseUpdatedV1,
    "uk.attendance.support-case.closed.v1": SupportCaseClosedV1,
    "uk.attendance.support-plan.agreed.v1": SupportPlanAgreedV1,
    "uk.attendance.support-plan.review-due.v1": SupportPlanReviewDueV1,
    "uk.attendance.notice-to-improve.issued.v1": NoticeToImproveIssuedV1,
    "uk.attendance.notice-to-improve.concluded.v1": NoticeToImproveConcludedV1,
    "uk.attendance.penalty-notice.issued.v1": PenaltyNoticeIssuedV1,
    "uk.attendance.support-meeting.arranged.v1": AttendanceMeetingArrangedV1,
}
EVENT_TYPE_OF: dict[type[Payload], str] = {model: name for name, model in EVENT_TYPES.items()}


class Event(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    type: str
    source: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    time: Moment
    datacontenttype: Literal["application/json"] = "application/json"
    # Serialised as the concrete payload, not as the (empty) base class the field names.
    data: SerializeAsAny[Payload]

    @property
    def key(self) -> bytes:
        return self.subject.encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def _typed_envelope(name: str, payload: type[Payload]) -> type[Event]:
    """`Event` with `type` fixed to `name` and `data` to its payload: the form every event is
    made and parsed in, so one pass of the validator's own JSON parser reads an envelope."""
    return create_model(f"{payload.__name__}Event", __base__=Event, type=(Literal[name], ...), data=(payload, ...))


ENVELOPE_OF: dict[str, type[Event]] = {name: _typed_envelope(name, model) for name, model in EVENT_TYPES.items()}
_ANY_ENVELOPE: TypeAdapter[Event] = TypeAdapter(
    Annotated[Union[tuple(ENVELOPE_OF.values())], Field(discriminator="type")]  # noqa: UP007 - built at run time
)


def _plain(model: type[BaseModel], name: str, **fields: Any) -> type:
    """`model` as a TypedDict: every field's type and constraints read from the model, so it
    validates exactly as the model does, into plain dicts."""
    annotations: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        annotations[field_name] = annotation if info.is_required() else NotRequired[annotation]
    plain = TypedDict(name, {**annotations, **fields})  # type: ignore[misc, operator]
    plain.__pydantic_config__ = ConfigDict(extra=model.model_config.get("extra") or "ignore")  # type: ignore[attr-defined]
    return plain


def plain_envelope(event_type: str) -> type:
    """The envelope of `event_type` as a TypedDict: what `parse_event` accepts and refuses it
    accepts and refuses, but it makes dicts, not models, in about half the time. For reading
    millions of events at once (analytics' rebuild); `tests/unit/test_events.py` holds the two
    to the same answers."""
    payload = EVENT_TYPES[event_type]
    return _plain(
        Event, f"Plain{payload.__name__}Event", type=Literal[event_type], data=_plain(payload, payload.__name__)
    )


class InvalidEvent(ValueError):
    """An event that cannot be applied: it goes to the dead-letter topic with this reason."""


# The largest envelope an outbox takes. Every field's maximum (`bounds`) keeps real events
# far below it (a pupil with ten contacts is a few kilobytes); it stays well under the 1 MiB
# a Kafka record may be, so the relay never meets an event the broker refuses, which
# would hold up every event behind it.
MAX_EVENT_BYTES = 256 * 1024


class EventTooLarge(ValueError):
    """A write would publish an event over `MAX_EVENT_BYTES`: refused, and nothing stored."""

    def __init__(self, event_type: str, size: int) -> None:
        super().__init__(f"the {event_type} event this write makes is {size:,} bytes; at most {MAX_EVENT_BYTES:,}")


def latest_revisions(marks: Iterable[SessionMark]) -> dict[tuple[str, str, date, str], SessionMark]:
    """Each session's mark of highest revision among `marks`, keyed by (school, UPN, date,
    session): what a batch folds to before a consumer compares it with what it stored."""
    latest: dict[tuple[str, str, date, str], SessionMark] = {}
    for mark in marks:
        key = (mark.school_urn, mark.upn, mark.date, mark.session)
        if key not in latest or latest[key].revision < mark.revision:
            latest[key] = mark
    return latest


def pupil_key(school_urn: str, upn: str) -> str:
    """All events of one pupil share a key, so they stay in order on one partition."""
    return f"{school_urn}:{upn}"


def make_event(payload: Payload, *, source: str, subject: str, time: datetime | None = None) -> Event:
    # Built here from a payload that validated when it was made: no second validation, which
    # is most of the cost of a two-thousand-mark register.
    event_type = EVENT_TYPE_OF[type(payload)]
    return ENVELOPE_OF[event_type].model_construct(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source,
        subject=subject,
        time=time or datetime.now(UTC),
        data=payload,
    )


def new_event_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs from one read of the system's randomness."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 16 * count, 16)]


def envelope_bytes(
    payload_type: type[Payload], data: dict[str, Any], *, event_id: str, source: str, subject: str, time: datetime
) -> bytes:
    """The envelope of `payload_type(**data)` as `make_event(...).to_bytes()` writes it, from
    values already checked, without building two models per event: for registers of
    thousands of marks. `data` must hold every field of the payload."""
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "type": EVENT_TYPE_OF[payload_type],
            "source": source,
            "subject": subject,
            "time": time,
            "datacontenttype": "application/json",
            "data": data,
        }
    )


def parse_event(raw: bytes | None) -> Event:
    """The event in a record's value, or InvalidEvent saying why not: never another error,
    whatever the bytes, for a consumer parks what raises this and stops on anything else."""
    if not raw:
        raise InvalidEvent("the record has no value")
    try:
        return _ANY_ENVELOPE.validate_json(raw)
    except ValidationError:
        pass  # read again below, step by step, to say exactly what is wrong
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidEvent("the envelope must be a JSON object")
    event_type = document.get("type")
    # A list or an object as the type is no key of EVENT_TYPES: looked up, it raised TypeError.
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {repr(event_type)[:200]}")
    try:
        return ENVELOPE_OF[document["type"]].model_validate(document)
    except ValidationError as exc:
        raise InvalidEvent(str(exc)) from None
