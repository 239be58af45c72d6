from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from attendance_shared.events import RiskFlagType
from attendance_shared.rules.absence_runs import Run, illness_school_days
from attendance_shared.rules.codes import LATE_CODES
from attendance_shared.rules.cohorts import Population
from attendance_shared.rules.figures import AttendanceFigures
from attendance_shared.rules.national_benchmarks import NationalBenchmark
from attendance_shared.rules.tiers import MAX_TIERS

PeriodKind = Literal["week", "half_term", "term", "year"]
CohortAttribute = Literal[
    "year_group",
    "sex",
    "fsm_eligible",
    "pupil_premium",
    "sen_status",
    "eal",
    "looked_after",
    "has_social_worker",
    "ethnicity",
    "ethnic_group",
    "previously_looked_after",
    "child_in_need",
    "child_protection_plan",
    "registration_group",
]


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
        return cls(**cls.values_of(f))

    @staticmethod
    def values_of(f: AttendanceFigures) -> dict[str, int | float | bool | None]:
        """The fields as plain values, for lists too long to build a model per pupil."""
        return {
            "possible_sessions": f.possible,
            "attended_sessions": f.attended,
            "present_sessions": f.present,
            "approved_educational_activity_sessions": f.approved_educational_activity,
            "authorised_absence_sessions": f.authorised,
            "unauthorised_absence_sessions": f.unauthorised,
            "attendance_rate": f.attendance_rate,
            "overall_absence_rate": f.overall_absence_rate,
            "authorised_absence_rate": f.authorised_absence_rate,
            "unauthorised_absence_rate": f.unauthorised_absence_rate,
            "persistent_absence": f.is_persistent_absence,
            "severe_absence": f.is_severe_absence,
        }


class Period(BaseModel):
    start: date
    end: date
    kind: Literal["week", "half_term", "term", "year", "range"]
    name: str | None = Field(None, description="The term or half-term's name in the school's calendar")


class FlagDetail(BaseModel):
    flag: RiskFlagType
    academic_year: int
    evidence_count: int | None = None
    evidence_unit: str | None = None
    evidence_since: date | None = None
    evidence_until: date | None = None
    evidence_reached_on: date | None = Field(
        None, description="Penalty-notice threshold: the day the rolling count rose to 10 (null: last year)"
    )


class WithheldRateFlags(BaseModel):
    """Rate flags the pupil's figures for the year reach, held back by the minimum of
    possible sessions (`ANALYTICS_MIN_POSSIBLE_SESSIONS_FOR_FLAGS`)."""

    flags: list[RiskFlagType]
    possible_sessions: int
    needed_possible_sessions: int
    reason: str


class PupilAttendance(BaseModel):
    school_urn: str
    upn: str
    period: Period
    figures: Figures
    code_counts: dict[str, int] = Field(description="Sessions per attendance code in the period")
    late_sessions: int = Field(description=f"Sessions coded {' or '.join(sorted(LATE_CODES))}")
    flags: list[FlagDetail] = Field(
        description="Risk flags the pupil's academic year (of the period's end) calls for now, with their evidence"
    )
    flags_withheld: WithheldRateFlags | None = Field(
        None, description="Rate flags the year's figures reach but that wait for more possible sessions, and why"
    )
    penalty_threshold_reached_on: list[date] = Field(
        default_factory=list,
        description="Every day this academic year the pupil's unauthorised sessions in the rolling 10 school "
        "weeks rose to 10, when a penalty notice must be considered: kept after the count falls back",
    )
    explained: "Explained | None" = Field(None, description="The figure in words and numbers, and what would change it")


class PupilRow(BaseModel):
    upn: str
    admitted_on: date | None = Field(
        None,
        description="For a pupil with two stays at the school in one academic year (deleted, then admitted "
        "again): the day this stay began. Each stay is an enrolment with its own row and figures, as the DfE "
        "counts them; null for a pupil with one stay",
    )
    figures: Figures
    late_sessions: int
    absent_sessions_by_weekday: list[int] | None = Field(
        None, description="With `habits=true`: absent sessions on Mondays, Tuesdays, ... Fridays"
    )
    late_on_recent_school_days: list[bool] | None = Field(
        None, description="With `habits=true`: late (L or U) on each of the last 10 school days, oldest first"
    )


class PupilAttendancePage(BaseModel):
    period: Period
    items: list[PupilRow]
    next_cursor: str | None


class CohortFigures(BaseModel):
    group: str
    pupils: int
    figures: Figures
    persistent_absence_pupils: int
    severe_absence_pupils: int
    persistent_absence_rate: float | None = Field(description="Percent of the group's pupils")
    severe_absence_rate: float | None


class SchoolAttendance(CohortFigures):
    school_urn: str
    period: Period
    code_counts: dict[str, int]
    late_sessions: int
    group_by: CohortAttribute | None = None
    population: Population = Field(
        "on_roll",
        description="on_roll: every pupil on the register. compulsory_school_age: as DfE statistics count, pupils "
        "aged 5 to 15 on 31 August before the academic year, boarders excluded",
    )
    groups: list[CohortFigures] = Field(
        default_factory=list, description="Per cohort, each session under the pupil's attributes on its date"
    )
    minimum_possible_sessions_note: str | None = Field(
        None, description="Set when the period is too short for rates to be stable"
    )


class WeekOut(BaseModel):
    week_start: date
    figures: Figures


class WeeklySeries(BaseModel):
    period: Period
    weeks: list[WeekOut]


class PatternOut(BaseModel):
    weekday: str
    session: Literal["am", "pm"]
    possible_sessions: int
    absence_sessions: int
    unauthorised_sessions: int
    absence_rate: float | None


class Patterns(BaseModel):
    period: Period
    by_session: list[PatternOut]
    code_counts: dict[str, int]


def _days(illness_sessions: int) -> int | float:
    """Whole days as whole numbers (15, not 15.0), half days as halves (15.5)."""
    days = illness_school_days(illness_sessions)
    return int(days) if days.is_integer() else days


class AbsenceRunOut(BaseModel):
    upn: str
    qualified_by: Literal["continuous_unauthorised", "sickness_spell", "sickness_cumulative"] = Field(
        description="A run of school days absent without authorisation; a continuous spell of illness; or "
        "the school year's illness taken together, scattered or not"
    )
    start: date = Field(description="The first qualifying day")
    end: date = Field(description="The last qualifying day up to the period's end")
    school_days: int | float = Field(
        description="Continuous absence: the school days absent for every possible session. Illness: the "
        "school days missed through sickness, two illness sessions to a day (a morning is half a day)"
    )
    sessions: int = Field(description="Unauthorised or illness sessions in it")
    reached_threshold_on: date = Field(description="The day it reached 10 school days (absence) or 15 (illness)")
    ongoing: bool = Field(description="Nothing had ended it by the period's end (always false for a year's total)")

    @classmethod
    def of(cls, upn: str, qualified_by: str, run: Run) -> "AbsenceRunOut":
        if run.reached_on is None:
            raise ValueError("only a run that reached its threshold is reported")
        return cls(
            upn=upn,
            qualified_by=qualified_by,  # type: ignore[arg-type]
            start=run.start,
            end=run.end,
            school_days=run.school_days if qualified_by == "continuous_unauthorised" else _days(run.sessions),
            sessions=run.sessions,
            reached_threshold_on=run.reached_on,
            ongoing=run.ongoing,
        )


class AbsenceRunPage(BaseModel):
    period: Period
    runs: Literal["continuous_unauthorised", "sickness"]
    items: list[AbsenceRunOut]
    next_cursor: str | None


class FlagToday(BaseModel):
    """The pupil's year as it stands now, beside the figures the flag was raised with."""

    possible_sessions: int
    absent_sessions: int
    overall_absence_rate: float | None
    still_due: bool = Field(
        description="The flag's rule still holds on today's marks. False on an active row means the "
        "consumer has not yet caught up with the marks that clear it, or (for a past year) that the "
        "year's last marks no longer reach it"
    )
    evidence_count: int | None = Field(None, description="Today's evidence for the flag, in `evidence_unit`")
    evidence_unit: str | None = None
    evidence_since: date | None = None
    evidence_until: date | None = None
    evidence_reached_on: date | None = None


class FlagOut(BaseModel):
    """A flag as it was raised, with `today` one field away. The top-level figures and evidence
    are a snapshot of the day the flag was raised (`as_of`): a penalty-threshold row says "10
    sessions to 26 Nov" for ever. Read `today` for where the pupil stands now."""

    upn: str
    flag: RiskFlagType
    academic_year: int
    possible_sessions: int = Field(description="On the day the flag was raised (`as_of`)")
    absent_sessions: int = Field(description="On the day the flag was raised (`as_of`)")
    overall_absence_rate: float | None = Field(description="On the day the flag was raised (`as_of`)")
    evidence_count: int | None = Field(description="On the day the flag was raised (`as_of`)")
    evidence_unit: str | None
    evidence_since: date | None
    evidence_until: date | None
    evidence_reached_on: date | None = Field(
        description="Penalty-notice threshold: the day the rolling count rose to 10 (null: reached last year)"
    )
    as_of: date | None = Field(description="The day the flag was raised: the pupil's latest register then")
    today: FlagToday | None = Field(description="The same figures from the marks as they stand now")


class PenaltyThresholdOut(BaseModel):
    upn: str
    reached_on: list[date] = Field(
        description="Each day this academic year the count of G, N, O and U sessions in the rolling 10 school "
        "weeks rose to 10: a penalty notice must be considered then (National Framework 2024)"
    )
    sessions_now: int = Field(
        description="Unauthorised sessions in the 10 school weeks ending with the latest register"
    )
    over_now: bool = Field(description="The count is at or over 10 today (the `penalty_notice_threshold` flag)")


class PenaltyThresholdPage(BaseModel):
    academic_year: int
    items: list[PenaltyThresholdOut]
    next_cursor: str | None


class FlagPage(BaseModel):
    academic_year: int = Field(description="The year these flags belong to (2026 for 2026/27)")
    items: list[FlagOut]
    next_cursor: str | None


class Benchmarks(BaseModel):
    school_urn: str
    period: Period
    school: CohortFigures
    local_authority: CohortFigures
    la_code: str
    national: NationalBenchmark
    reference_version: str


class SchoolLine(CohortFigures):
    school_urn: str
    name: str | None


class LAAttendance(BaseModel):
    la_code: str
    period: Period
    total: CohortFigures
    schools: list[SchoolLine]


class PupilWeeks(BaseModel):
    upn: str
    possible: list[int] = Field(description="Possible sessions in each week of `weeks`")
    attended: list[int] = Field(description="Attended sessions (present or approved activity) in each week")


class PupilWeeksPage(BaseModel):
    period: Period
    weeks: list[date] = Field(description="The Monday of each school week of the period")
    items: list[PupilWeeks]
    next_cursor: str | None = None


# --- the views leaders, governors and LAs use -------------------------------------------


class Explained(BaseModel):
    """The pupil's figure in words and numbers: why they are, or are not, persistently or
    severely absent, and what would change it."""

    text: str = Field(description='e.g. "24 of 143 possible sessions missed: 16.8% (12 days, about 60 lessons). …"')
    absent_sessions: int
    possible_sessions: int
    persistent_absence: bool = Field(description="Absence at or above 10% of possible sessions")
    severe_absence: bool = Field(description="Absence at or above 50% of possible sessions")
    sessions_to_leave_persistent_absence: int = Field(
        description="Sessions attended in a row, nothing else missed, that bring absence below 10% (0: already)"
    )
    sessions_to_leave_severe_absence: int = Field(description="The same for 50%")
    remaining_possible_sessions: int = Field(
        description="The school's sessions left in the academic year after the period, while the pupil is on roll"
    )
    year_end_attendance_if_no_more_absence: float | None = Field(
        description="Attendance at the year's end if every remaining session is attended (null when the period "
        "does not start with the academic year, or no session remains)"
    )
    days_missed: float = Field(description="Absent sessions as school days (two sessions a day)")
    lessons_missed_about: int = Field(description="Days missed at five lessons a day")
    time_missed: str = Field(description='"12 days, about 60 lessons"')
    tier: str | None = Field(description="The school's (or its LA's, or the default) attendance tier")
    spells: int = Field(description="Spells of absence in the period: runs of absent sessions, non-school days skipped")
    longest_spell_sessions: int
    persistent_absence_risk: Literal["unknown", "low", "moderate", "high", "persistent"] = Field(
        description="Rate and spells read together (see /docs: `GET …/absence-spells`)"
    )


class BandOut(BaseModel):
    band: str = Field(description="The band's name in `band=`: `0-5`, `5-10`, … `50+`")
    label: str
    lower_percent: int
    upper_percent: int | None
    pupils: int
    share: float | None = Field(description="Percent of the pupils counted")


class BandGroup(BaseModel):
    group: str
    pupils_counted: int
    bands: list[BandOut]


class AbsenceBands(BaseModel):
    period: Period
    width: int
    minimum_possible_sessions: int = Field(description="Pupils with fewer possible sessions are not counted (DfE)")
    pupils_counted: int
    pupils_not_counted: int
    bands: list[BandOut]
    group_by: CohortAttribute | None = None
    groups: list[BandGroup] = Field(
        default_factory=list, description="Per cohort value, by the pupil's attributes at the period's end"
    )


class BandPupil(BaseModel):
    upn: str
    school_urn: str
    year_group: str | None
    possible_sessions: int
    absent_sessions: int
    overall_absence_rate: float
    tier: str | None


class BandPupilPage(BaseModel):
    period: Period
    band: str
    items: list[BandPupil]
    next_cursor: str | None


class SpellRow(BaseModel):
    upn: str
    possible_sessions: int
    absent_sessions: int
    overall_absence_rate: float | None
    spells: int
    longest_spell_sessions: int
    mean_spell_sessions: float | None
    persistent_absence_risk: Literal["unknown", "low", "moderate", "high", "persistent"]


class SpellPage(BaseModel):
    period: Period
    method: str
    items: list[SpellRow]
    next_cursor: str | None


class ReasonOut(BaseModel):
    reason: str
    label: str
    codes: list[str]
    authorised: bool
    sessions: int
    rate: float | None = Field(description="Percent of possible sessions")
    national_rate: float | None = Field(description="England's rate, where a stored release states it")
    national_period: str | None


class AbsenceReasons(BaseModel):
    period: Period
    possible_sessions: int
    reasons: list[ReasonOut]
    reference_version: str


class MonthOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    figures: Figures
    persistent_absence_rate: float | None = Field(description="Percent of pupils, over the month alone")


class MonthlySeries(BaseModel):
    period: Period
    months: list[MonthOut]


class YearToDate(BaseModel):
    period: Period
    pupils: int
    figures: Figures
    persistent_absence_rate: float | None
    severe_absence_rate: float | None


class YearOnYear(BaseModel):
    school_day_number: int = Field(description="School days of this year up to `on`; last year is cut at the same")
    this_year: YearToDate
    last_year: YearToDate | None = Field(description="Null when the school has no marks last year")
    change: dict[str, float | None] = Field(description="This year minus last year, in percentage points")


class Rank(BaseModel):
    value: float | None
    position: int | None = Field(description="1 is best; equal values share a position")
    of: int
    percentile: float | None = Field(description="Share of the other schools it does better than or equals, 0–100")


class CompareRow(BaseModel):
    school_urn: str
    name: str | None
    phase: str | None
    pupils: int
    figures: Figures
    persistent_absence_rate: float | None
    severe_absence_rate: float | None
    ranks: dict[str, Rank]


class CompareTable(BaseModel):
    scope: str
    period: Period
    phase: str | None
    rank_by: str
    schools: list[CompareRow]


class TrustSchool(SchoolLine):
    groups: list[CohortFigures] = Field(default_factory=list, description="Per cohort, when `group_by` is given")


class TrustAttendance(BaseModel):
    trust_id: str
    name: str | None
    period: Period
    group_by: CohortAttribute | None
    total: CohortFigures
    schools: list[TrustSchool]


class TierIn(BaseModel):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_ -]+$")
    above_percent: float = Field(
        ge=0, lt=100, allow_inf_nan=False, description="Attendance strictly above this (the last tier: 0)"
    )


class TiersIn(BaseModel):
    tiers: list[TierIn] = Field(min_length=1, max_length=MAX_TIERS, description="Best first")


class TiersOut(BaseModel):
    tiers: list[TierIn]
    source: Literal["school", "la", "default"]


PupilAttendance.model_rebuild()
