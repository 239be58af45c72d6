"""Request and response models of the register API (not tables, not events)."""

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from attendance_shared.api_types import IsoDate, LocalTime
from attendance_shared.events import Contact, SocialWorker
from attendance_shared.rules.identifiers import ESTABLISHMENT_NUMBER_PATTERN, LA_CODE_PATTERN

Session = Literal["am", "pm"]


class SchoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    la_code: Annotated[str, StringConstraints(pattern=LA_CODE_PATTERN)]
    establishment_number: Annotated[str, StringConstraints(pattern=ESTABLISHMENT_NUMBER_PATTERN)] | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    am_register_closes: LocalTime = time(9, 0)
    pm_register_closes: LocalTime = time(13, 30)


class SchoolOut(SchoolIn):
    urn: str


class PupilIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upn: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    legal_surname: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    legal_forename: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    date_of_birth: IsoDate
    year_group: Annotated[str, StringConstraints(pattern=r"^(N1|N2|R|[1-9]|1[0-4])$")]
    admission_date: IsoDate
    contacts: list[Contact] = Field(default_factory=list, max_length=10)
    social_worker: SocialWorker | None = None


class PupilOut(PupilIn):
    model_config = ConfigDict(extra="ignore")  # built from table rows, which carry audit columns too

    school_urn: str
    left_on: date | None = None


class PupilPage(BaseModel):
    items: list[PupilOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to read the next page; null on the last page.")


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upn: Annotated[str, StringConstraints(max_length=20)]
    code: Annotated[str, StringConstraints(max_length=4)]


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    marks: list[MarkIn] = Field(min_length=1)


class RegisterResult(BaseModel):
    school_urn: str
    date: date
    session: Session
    recorded: int = Field(description="Marks stored: new marks and changed codes (each a new revision).")
    unchanged: int = Field(description="Marks that already had this code: nothing stored, no event.")


class MarkOut(BaseModel):
    upn: str
    code: str
    revision: int
    recorded_at: datetime
    recorded_by: str


class RegisterOut(BaseModel):
    school_urn: str
    date: date
    session: Session
    marks: list[MarkOut]


class AmendmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(max_length=4)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class MarkEntry(BaseModel):
    """One entry of the legal register: the original mark or an amendment of it."""

    date: date
    session: Session
    code: str
    revision: int
    previous_code: str | None
    reason: str | None
    recorded_by: str
    recorded_at: datetime


class PupilMarks(BaseModel):
    school_urn: str
    upn: str
    entries: list[MarkEntry]
