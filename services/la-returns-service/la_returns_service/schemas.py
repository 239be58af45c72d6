import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from attendance_shared.api_types import IsoDate
from la_returns_service.domain.periods import Frequency

ReturnKind = Literal[
    "new-pupils", "deletions", "attendance", "school-attendance", "sickness", "social-worker", "part-time-timetables"
]
KIND_DESCRIPTION = (
    "new-pupils (admitted in the period, with due date and status), deletions (left in the period, with the "
    "regulation-9 ground and destination), attendance (every pupil's figures, persistent and severe absence, "
    "10 continuous school days unauthorised, cohorts), school-attendance (per school and cohort), sickness (one "
    "row per continuous illness reaching 15 school days), social-worker (children with a social worker and "
    "their attendance), part-time-timetables (every part-time timetable that ran in the period, with its "
    'reviews, extensions, consent and notification; a school with none has a "none this period" row)'
)


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Annotated[ReturnKind, Field(description=KIND_DESCRIPTION)]
    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")


class ReturnSummary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    la_code: str
    kind: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    generated_at: datetime
    row_count: int
    checksum: str = Field(description="sha256 of the rows in order, each as JSON with sorted keys")
    columns: list[str]
    trigger: Literal["request", "schedule"] = "request"


class ReturnPage(BaseModel):
    items: list[ReturnSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` (or `since`) for the returns compiled after these: also on the last page, "
        "so a poller keeps it and asks again later; null only when nothing has been listed yet"
    )
    more: bool = Field(description="More returns are already waiting after `next_cursor`")


class ReturnDocument(ReturnSummary):
    rows: list[dict]


class SchoolReturnDocument(ReturnSummary):
    school_urn: str
    rows: list[dict] = Field(description="This school's rows of the return")


class LASettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_reception_first_day: bool = Field(
        description="Ask schools for pupils placed in the most junior class on the first day of the school year "
        "too (reg 13): those entered from now on are returned"
    )


class LASettings(BaseModel):
    la_code: str
    include_reception_first_day: bool
    opted_in_at: datetime | None


class ScheduleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReturnKind
    frequency: Frequency = Field(
        description="daily: yesterday; weekly: last Monday to Sunday; monthly: last calendar month"
    )


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: Annotated[list[ScheduleEntry], Field(max_length=20)]

    @field_validator("entries")
    @classmethod
    def one_frequency_per_kind(cls, entries: list[ScheduleEntry]) -> list[ScheduleEntry]:
        kinds = [e.kind for e in entries]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each kind may appear once")
        return entries


# --- governor reports and Targeting Support Meeting packs -------------------------------

ReportKind = Literal["governor-report", "tsm-pack"]
REPORT_KIND_DESCRIPTION = (
    "governor-report: a term's headline figures against the LA and England, the weekly trend, bands, cohort "
    "gaps, reasons and year on year, for the board. tsm-pack: the same for the LA's Targeting Support Meeting, "
    "with the severe and persistent absence lists (each pupil's cohorts and casework), continuous-absence runs "
    "and part-time timetables"
)


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[ReportKind, Field(description=REPORT_KIND_DESCRIPTION)]
    on: IsoDate | None = Field(None, description="A day in the term (default today); the term so far if it is running")


class ReportSummary(BaseModel):
    id: uuid.UUID
    kind: ReportKind
    school_urn: str
    la_code: str
    term: str | None
    start: date
    end: date
    generated_at: datetime
    trigger: Literal["request", "schedule"]
    checksum: str = Field(description="sha256 of the PDF")


class ReportPage(BaseModel):
    items: list[ReportSummary]
    next_cursor: str | None


class MeetingActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upn: str | None = Field(None, pattern=r"^[A-Z][0-9]{11}[0-9A-Z]$", description="Null: an action for the school")
    action: str = Field(min_length=1, max_length=1000)
    owner: str = Field(min_length=1, max_length=200)
    due_on: IsoDate | None = None


class MeetingActionOut(MeetingActionIn):
    id: uuid.UUID
    recorded_by: str
    recorded_at: datetime


class ReportDocument(ReportSummary):
    document: dict = Field(description="The figures the PDF shows, as compiled (never changed)")
    agreed_actions: list[MeetingActionOut] = Field(
        description="Actions agreed at the meeting, recorded after it through the API"
    )


class ReportScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[ReportKind] = Field(max_length=2, description="Compiled once each term ends; empty: none")

    @field_validator("kinds")
    @classmethod
    def each_once(cls, kinds: list[str]) -> list[str]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("each kind may appear once")
        return kinds
