from datetime import date

from pydantic import BaseModel, Field

from attendance_shared.rules.figures import AttendanceFigures


class Figures(BaseModel):
    possible_sessions: int
    attended_sessions: int = Field(description="Present plus approved educational activity")
    present_sessions: int
    approved_educational_activity_sessions: int
    authorised_absence_sessions: int
    unauthorised_absence_sessions: int
    attendance_rate: float | None
    overall_absence_rate: float | None
    authorised_absence_rate: float | None
    unauthorised_absence_rate: float | None
    persistent_absence: bool
    severe_absence: bool

    @classmethod
    def of(cls, f: AttendanceFigures) -> "Figures":
        return cls(
            possible_sessions=f.possible,
            attended_sessions=f.attended,
            present_sessions=f.present,
            approved_educational_activity_sessions=f.approved_educational_activity,
            authorised_absence_sessions=f.authorised,
            unauthorised_absence_sessions=f.unauthorised,
            attendance_rate=f.attendance_rate,
            overall_absence_rate=f.overall_absence_rate,
            authorised_absence_rate=f.authorised_absence_rate,
            unauthorised_absence_rate=f.unauthorised_absence_rate,
            persistent_absence=f.is_persistent_absence,
            severe_absence=f.is_severe_absence,
        )


class PupilAttendance(BaseModel):
    school_urn: str
    upn: str
    start: date
    end: date
    figures: Figures
    flags: list[str] = Field(description="Risk flags active for the pupil this academic year")


class PupilAttendancePage(BaseModel):
    start: date
    end: date
    items: list[PupilAttendance]
    next_cursor: str | None


class SchoolAttendance(BaseModel):
    school_urn: str
    start: date
    end: date
    pupils: int
    figures: Figures
    persistent_absence_pupils: int
    severe_absence_pupils: int


class FlagOut(BaseModel):
    upn: str
    flag: str
    academic_year: int
    possible_sessions: int
    absent_sessions: int
    overall_absence_rate: float | None


class FlagPage(BaseModel):
    items: list[FlagOut]
    next_cursor: str | None
