"""Request and response models of the register API (not tables, not events)."""

import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from attendance_shared.api_types import IsoDate, LocalTime
from attendance_shared.bounds import LABEL_MAX, NOTE_MAX, ORGANISATION_NAME_MAX, PERSON_NAME_MAX, REASON_MAX, text
from attendance_shared.events import (
    Address,
    CalendarClosure,
    CalendarTerm,
    Contact,
    PreviousSchool,
    RegistrationGroup,
    SchoolPhase,
    SchoolTrust,
    SENStatus,
    Sex,
    SocialWorker,
)
from attendance_shared.rules.cohorts import EthnicityCode
from attendance_shared.rules.deletion_grounds import DELETION_GROUNDS, DeletionGround
from attendance_shared.rules.identifiers import ESTABLISHMENT_NUMBER_PATTERN, LA_CODE_PATTERN, URN_PATTERN
from attendance_shared.rules.leave import (
    LEAVE_GROUNDS,
    LeaveReason,
    LeaveSessions,
    PartTimeReason,
    WeekSession,
)
from attendance_shared.rules.thresholds import (
    LEAVE_MAX_SCHOOL_DAYS,
    MAX_MINUTES_LATE,
    UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS,
)

Session = Literal["am", "pm"]
Name = text(PERSON_NAME_MAX, strip=True, min_length=1)
Reason = text(REASON_MAX, strip=True, min_length=1)
Note = text(NOTE_MAX, strip=True)
SchoolName = text(ORGANISATION_NAME_MAX, strip=True, min_length=1)
YearGroup = Annotated[str, StringConstraints(pattern=r"^(N1|N2|R|[1-9]|1[0-4])$")]
MAX_MARKS_PER_REGISTER = 100_000
NEXT_CURSOR = "Pass as `cursor` to read the next page; null on the last page."


class SchoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    la_code: Annotated[str, StringConstraints(pattern=LA_CODE_PATTERN)]
    establishment_number: Annotated[str, StringConstraints(pattern=ESTABLISHMENT_NUMBER_PATTERN)] | None = None
    name: SchoolName
    phase: SchoolPhase | None = None
    am_register_opens: LocalTime = time(8, 40)
    am_register_closes: LocalTime = time(9, 0)
    pm_register_opens: LocalTime = time(13, 10)
    pm_register_closes: LocalTime = time(13, 30)
    unexplained_absence_days: int = Field(
        UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS, ge=1, le=20, description="School days an N may stand before it is overdue"
    )
    leave_max_school_days: int = Field(
        LEAVE_MAX_SCHOOL_DAYS, ge=1, le=60, description="The most school days one leave-of-absence request may cover"
    )
    trust: SchoolTrust | None = Field(
        None,
        description="The multi-academy trust or federation the school is in; null: none. A new one closes "
        "the last membership the day before it joins",
    )


class SchoolOut(SchoolIn):
    model_config = ConfigDict(extra="ignore")

    urn: str


class TrustMembership(BaseModel):
    trust_id: str
    name: str
    kind: str
    joined_on: date
    left_on: date | None = Field(description="The last day in the trust; null while the school is in it")


class TrustHistory(BaseModel):
    school_urn: str
    items: list[TrustMembership] = Field(description="Oldest first")


class CalendarIn(BaseModel):
    """A school's calendar for one academic year (1 August to 31 July)."""

    model_config = ConfigDict(extra="forbid")

    academic_year: int = Field(ge=2000, le=2100, description="The year the academic year starts: 2026 for 2026/27")
    terms: list[CalendarTerm] = Field(min_length=1, max_length=6)
    closures: list[CalendarClosure] = Field(default_factory=list, max_length=60)


class CalendarOut(CalendarIn):
    model_config = ConfigDict(extra="ignore")

    school_urn: str
    school_days: int = Field(description="Days with at least one session pupils attend")
    possible_sessions: int


class PupilRecord(BaseModel):
    """What the admission register holds about a pupil besides the UPN."""

    model_config = ConfigDict(extra="forbid")

    legal_surname: Name
    legal_forename: Name
    preferred_surname: Name | None = None
    preferred_forename: Name | None = None
    date_of_birth: IsoDate
    sex: Sex
    year_group: YearGroup
    address: Address
    previous_school: PreviousSchool | None = None
    boarder: bool = False
    contacts: list[Contact] = Field(default_factory=list, max_length=10, description="Parents and carers")
    fsm_eligible: bool = False
    pupil_premium: bool = False
    sen_status: SENStatus = "none"
    eal: bool = False
    looked_after: bool = False
    social_worker: SocialWorker | None = None
    youth_offending_worker: SocialWorker | None = None
    virtual_school_contact: SocialWorker | None = None
    ethnicity: EthnicityCode | None = Field(None, description="The DfE's main ethnicity code (REFU: refused)")
    previously_looked_after: bool = False
    child_in_need: bool = False
    child_protection_plan: bool = False
    registration_group: RegistrationGroup | None = Field(None, description="The form or tutor group")
    expected_leaving_date: IsoDate | None = None


class PupilIn(PupilRecord):
    upn: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    admission_date: IsoDate


MAX_ADMISSIONS_PER_REQUEST = 2000  # the roll of a large secondary school


class AdmissionsIn(BaseModel):
    """Several admissions to one school's register at once (an intake, or a school's whole roll
    when it starts using the platform): all are entered, or none."""

    model_config = ConfigDict(extra="forbid")

    pupils: list[PupilIn] = Field(min_length=1, max_length=MAX_ADMISSIONS_PER_REQUEST)


class AdmissionsResult(BaseModel):
    school_urn: str
    admitted: int
    upns: list[str] = Field(description="In the order of the request, in their compact form")


# What a record may lack (its fields that default to None), and so what a change may clear.
CLEARABLE_FIELDS = frozenset(
    name for name, field in PupilRecord.model_fields.items() if not field.is_required() and field.default is None
) | {"effective_from"}


class PupilUpdateIn(BaseModel):
    """Fields to change, and the date the change takes effect (cohort analysis sees the pupil
    as they were on each date). Fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    effective_from: IsoDate | None = Field(None, description="Default: today")
    legal_surname: Name | None = None
    legal_forename: Name | None = None
    preferred_surname: Name | None = None
    preferred_forename: Name | None = None
    sex: Sex | None = None
    year_group: YearGroup | None = None
    address: Address | None = None
    boarder: bool | None = None
    contacts: list[Contact] | None = Field(None, max_length=10)
    fsm_eligible: bool | None = None
    pupil_premium: bool | None = None
    sen_status: SENStatus | None = None
    eal: bool | None = None
    looked_after: bool | None = None
    social_worker: SocialWorker | None = None
    youth_offending_worker: SocialWorker | None = None
    virtual_school_contact: SocialWorker | None = None
    ethnicity: EthnicityCode | None = None
    previously_looked_after: bool | None = None
    child_in_need: bool | None = None
    child_protection_plan: bool | None = None
    registration_group: RegistrationGroup | None = None
    expected_leaving_date: IsoDate | None = None

    @model_validator(mode="after")
    def _null_only_clears_what_may_be_empty(self) -> "PupilUpdateIn":
        """Left out, a field keeps its value; sent as null, it is cleared, which only the
        fields a record may lack (preferred names, the professionals) can be."""
        cleared = sorted(
            name for name in self.model_fields_set if getattr(self, name) is None and name not in CLEARABLE_FIELDS
        )
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null: leave a field out to keep its value")
        return self


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    school_urn: Annotated[str, StringConstraints(pattern=URN_PATTERN)] | None = None
    school_name: SchoolName | None = None
    start_date: IsoDate | None = None


class DeletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ground: DeletionGround = Field(
        description="Regulation 9(1) ground: "
        + "; ".join(f"`{g.value}` {text}" for g, text in DELETION_GROUNDS.items())
    )
    date: IsoDate = Field(
        description="The last day the pupil is on roll: the day the name comes off the register. It cannot be "
        "before a register the pupil is already marked in, since neither register may be changed retrospectively "
        "to delete a pupil"
    )
    ground_met_on: IsoDate | None = Field(
        None,
        description="The day the ground was met, when that was earlier than `date`: for instance the day the "
        "pupil started at another school, learnt of after registers had been taken. The deletion return is due "
        "from then. Default: `date`",
    )
    destination: Destination | None = None


class Enrolment(BaseModel):
    """One stay on the admission register: a pupil deleted and later admitted again has two."""

    model_config = ConfigDict(extra="ignore")

    admission_date: date
    left_on: date | None = None
    deletion_ground: DeletionGround | None = None
    ground_met_on: date | None = None
    destination: Destination | None = None


class PupilOut(PupilRecord):
    model_config = ConfigDict(extra="ignore")  # built from table rows, which carry audit columns too

    school_urn: str
    upn: str
    admission_date: date = Field(description="The latest enrolment's")
    left_on: date | None = Field(None, description="The latest enrolment's; null while on roll")
    deletion_ground: DeletionGround | None = None
    ground_met_on: date | None = None
    destination: Destination | None = None
    enrolments: list[Enrolment] = Field(
        default_factory=list, description="Every stay at the school, oldest first (on a single pupil's answer)"
    )


class PupilVersion(BaseModel):
    effective_from: date
    recorded_by: str
    recorded_at: datetime
    record: dict


class PupilHistory(BaseModel):
    school_urn: str
    upn: str
    versions: list[PupilVersion]


class PupilPage(BaseModel):
    items: list[PupilOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upn: Annotated[str, StringConstraints(max_length=20)]
    code: Annotated[str, StringConstraints(max_length=4)]
    minutes_late: int | None = Field(
        None, ge=1, le=MAX_MINUTES_LATE, description="L and U: minutes after registration opened"
    )
    note: Note | None = Field(None, description="Required for B, K and Y7: what the pupil was doing")


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The most a register can hold whatever REGISTER_MAX_MARKS_PER_REGISTER says: a bound on
    # what is parsed at all, before the configured limit is checked.
    marks: list[MarkIn] = Field(min_length=1, max_length=MAX_MARKS_PER_REGISTER)


class RegisterResult(BaseModel):
    school_urn: str
    date: date
    session: Session
    recorded: int = Field(description="Marks stored: new marks and changed codes (each a new revision).")
    unchanged: int = Field(description="Marks that already had this code: nothing stored, no event.")
    planned: int = Field(0, description="Planned marks that became register entries with this register.")


class SchoolRegisterIn(RegisterIn):
    urn: Annotated[str, StringConstraints(pattern=URN_PATTERN)]
    date: IsoDate
    session: Session


class BulkRegistersIn(BaseModel):
    """Registers of several schools (or sessions) at once: all are stored, or none."""

    model_config = ConfigDict(extra="forbid")

    registers: list[SchoolRegisterIn] = Field(min_length=1, max_length=200)


class BulkRegistersResult(BaseModel):
    registers: list[RegisterResult]


class PlannedMarkOut(BaseModel):
    """A mark written before its session by an agreed leave or a part-time timetable."""

    model_config = ConfigDict(extra="ignore")

    upn: str
    date: date
    session: Session
    code: str
    leave_request_id: uuid.UUID | None = None
    timetable_id: uuid.UUID | None = None
    planned_by: str
    planned_at: datetime
    withdrawn_at: datetime | None = None


class MarkOut(BaseModel):
    upn: str
    code: str
    revision: int
    minutes_late: int | None = None
    note: str | None = None
    recorded_at: datetime
    recorded_by: str
    planned: bool = Field(False, description="The mark is the session's planned mark (leave or part-time timetable)")


class RegisterOut(BaseModel):
    school_urn: str
    date: date
    session: Session
    as_at: datetime | None = Field(None, description="The register as it stood at this time, if asked")
    marks: list[MarkOut]
    planned: list[PlannedMarkOut] = Field(
        default_factory=list,
        description="Every standing planned mark of the session: it becomes the pupil's mark when the register "
        "is taken, unless the register says the pupil came in (/ \\ L U)",
    )


class Person(BaseModel):
    """Who made an amendment: the regulations keep their name and position."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    position: text(LABEL_MAX, strip=True, min_length=1)  # type: ignore[valid-type]


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(max_length=4)]
    reason: Reason
    made_by: Person
    minutes_late: int | None = Field(None, ge=1, le=MAX_MINUTES_LATE)
    note: Note | None = None


class MarkEntry(BaseModel):
    """One entry of the legal register: the original mark or an amendment of it."""

    date: date
    session: Session
    code: str
    revision: int
    previous_code: str | None
    reason: str | None
    minutes_late: int | None = None
    note: str | None = None
    made_by_name: str | None = Field(None, description="Amendments: the person who made it")
    made_by_position: str | None = None
    recorded_by: str
    recorded_at: datetime


class PupilMarks(BaseModel):
    school_urn: str
    upn: str
    entries: list[MarkEntry]


class ChangedMark(MarkEntry):
    upn: str


class MarkChangePage(BaseModel):
    items: list[ChangedMark]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the changes after these")


class LoggedEvent(BaseModel):
    position: int = Field(description="The event's place in the register's log (its outbox id)")
    topic: str = Field(description="The Kafka topic it was published to")
    event: dict[str, Any] = Field(description="The CloudEvents envelope exactly as it was published")


class EventLogPage(BaseModel):
    events: list[LoggedEvent]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page")


class UnexplainedAbsence(BaseModel):
    upn: str
    date: date
    session: Session
    school_days_outstanding: int = Field(description="School days since the session, today excluded")
    pending_reports: list[uuid.UUID] = Field(description="Parent reports that cover this session")


class UnexplainedAbsencePage(BaseModel):
    older_than_school_days: int
    items: list[UnexplainedAbsence]


class MissingRegisterOut(BaseModel):
    school_urn: str
    date: date
    session: Literal["am", "pm"]
    closes_at: datetime = Field(description="When the school's register for the session closed")
    taken_at: datetime | None = Field(
        description="When its first mark was recorded, after it closed; null while no mark has been taken"
    )
    registration_group: str | None = Field(
        None, description="by=registration_group: the class (null for pupils with no group recorded)"
    )
    pupils: int | None = Field(None, description="by=registration_group: the class's pupils on roll that day")


MissingRegistersBy = Literal["school", "registration_group"]


class MissingRegisterPage(BaseModel):
    start: date
    end: date
    by: MissingRegistersBy = "school"
    items: list[MissingRegisterOut] = Field(
        description="Registers not taken by the time they closed, by school, date and session"
    )


class AbsenceReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_day: IsoDate
    last_day: IsoDate
    sessions: Literal["am", "pm", "both"] = "both"
    reason: Reason
    suggested_code: Literal["I", "M", "R", "C"] | None = Field(None, description="What the parent says it was")


class AbsenceReportOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    school_urn: str
    upn: str
    first_day: date
    last_day: date
    sessions: Literal["am", "pm", "both"]
    reason: str
    suggested_code: str | None
    reported_by: str
    reported_at: datetime
    status: Literal["pending", "accepted", "declined"]
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


class PendingAbsenceReport(AbsenceReportOut):
    unexplained_sessions: list[tuple[date, Session]] = Field(description="N marks the report covers")


class AbsenceReportPage(BaseModel):
    items: list[PendingAbsenceReport]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class AcceptReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(max_length=4)] = Field(description="The code the N marks become, e.g. I")
    made_by: Person


class DeclineReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Reason


class AcceptedReport(BaseModel):
    report: AbsenceReportOut
    amended: list[MarkEntry]


LEAVE_REASONS_DOC = "; ".join(
    f"`{g.reason}`: {g.meaning} ({g.code if g.code else 'cannot be agreed'})" for g in LEAVE_GROUNDS.values()
)


class LeaveRequestIn(BaseModel):
    """Leave of absence asked for in advance (reg 11)."""

    model_config = ConfigDict(extra="forbid")

    first_day: IsoDate
    last_day: IsoDate
    sessions: LeaveSessions = Field("both", description="Which sessions of each day: am, pm or both")
    reason: LeaveReason = Field(description=f"The ground, and the code an agreed leave gives: {LEAVE_REASONS_DOC}")
    note: Note | None = None


class PlannedSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate
    session: Session


class LeaveDecisionIn(BaseModel):
    """Staff decide: agreed (every session asked for), partly agreed (the sessions listed), or
    refused. A decision already made may later be reduced (partly agreed, fewer sessions)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["agreed", "partly_agreed", "refused"]
    sessions: list[PlannedSessionIn] | None = Field(
        None, max_length=400, description="partly_agreed only: the sessions agreed"
    )
    reason: Reason | None = Field(None, description="Why; required when refused or partly agreed")

    @model_validator(mode="after")
    def _reasoned(self) -> "LeaveDecisionIn":
        if self.outcome != "agreed" and self.reason is None:
            raise ValueError(f"reason: a decision of {self.outcome} must say why")
        if self.outcome == "partly_agreed" and not self.sessions:
            raise ValueError("sessions: partly_agreed must list the sessions agreed")
        if self.outcome != "partly_agreed" and self.sessions is not None:
            raise ValueError("sessions: only partly_agreed lists sessions")
        return self


class LeaveCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class LeaveRequestOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    school_urn: str
    upn: str
    first_day: date
    last_day: date
    sessions: LeaveSessions
    reason: LeaveReason
    code: str | None = Field(description="The code an agreed leave writes; null for a family holiday")
    note: str | None
    requested_by: str
    requested_by_role: Literal["parent", "staff"]
    requested_at: datetime
    status: Literal["pending", "agreed", "partly_agreed", "refused", "cancelled"]
    decision: int = Field(description="How many decisions have been made on the request")
    agreed_sessions: list[PlannedSessionIn] = Field(description="The sessions agreed, each a planned mark")
    decision_reason: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


class LeaveRequestPage(BaseModel):
    items: list[LeaveRequestOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class ParentsConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    given_on: IsoDate


class PartTimeTimetableIn(BaseModel):
    """A part-time timetable: temporary, time-limited, agreed with the parents, reviewed."""

    model_config = ConfigDict(extra="forbid")

    reason: PartTimeReason
    reason_note: Note | None = None
    attended_sessions: list[WeekSession] = Field(
        min_length=1, max_length=9, description="The sessions of the school week the pupil attends, e.g. mon_am"
    )
    start_date: IsoDate
    end_date: IsoDate | None = Field(None, description="Default: the end of the 6th school week")
    first_review_on: IsoDate | None = Field(None, description="Default: the end of the 2nd school week")
    parents_consent: ParentsConsent | None = None
    social_worker_told: bool = False
    virtual_school_told: bool = False
    la_notified_on: IsoDate | None = None


class PartTimeTimetableChangeIn(BaseModel):
    """Change a timetable: extend it (a new end date and the reason), record a review, record
    consent or the LA notification, or end it early."""

    model_config = ConfigDict(extra="forbid")

    extend_to: IsoDate | None = None
    extension_reason: Reason | None = None
    review_held_on: IsoDate | None = None
    review_notes: Note | None = None
    next_review_on: IsoDate | None = None
    parents_consent: ParentsConsent | None = None
    social_worker_told: bool | None = None
    virtual_school_told: bool | None = None
    la_notified_on: IsoDate | None = None
    end_on: IsoDate | None = Field(None, description="End early: the pupil is full time from the next day")
    end_reason: Reason | None = None

    @model_validator(mode="after")
    def _paired(self) -> "PartTimeTimetableChangeIn":
        if (self.extend_to is None) != (self.extension_reason is None):
            raise ValueError("extension_reason: an extension needs both extend_to and extension_reason")
        if (self.end_on is None) != (self.end_reason is None):
            raise ValueError("end_reason: ending a timetable needs both end_on and end_reason")
        if self.review_notes is not None and self.review_held_on is None:
            raise ValueError("review_held_on: review notes need the day the review was held")
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        return self


class PartTimeReview(BaseModel):
    held_on: date
    notes: str | None = None
    recorded_by: str


class PartTimeExtension(BaseModel):
    previous_end: date
    new_end: date
    reason: str
    recorded_by: str


class PartTimeTimetableOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    school_urn: str
    upn: str
    version: int
    reason: PartTimeReason
    reason_note: str | None
    attended_sessions: list[WeekSession]
    start_date: date
    end_date: date
    next_review_on: date | None
    reviews: list[PartTimeReview]
    extensions: list[PartTimeExtension]
    parents_consent: ParentsConsent | None
    social_worker_told: bool
    virtual_school_told: bool
    la_notified_on: date | None
    status: Literal["active", "ended"]
    ended_on: date | None
    end_reason: str | None
    review_overdue: bool = Field(description="The next review date has passed")
    past_end: bool = Field(description="Still active after its end date: the pupil should be full time")
    planned_sessions: int = Field(description="Standing planned C2 marks")


class PartTimeTimetablePage(BaseModel):
    items: list[PartTimeTimetableOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class PartTimeTimetableVersion(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int
    change: str
    recorded_by: str
    recorded_at: datetime
    record: dict[str, Any]
