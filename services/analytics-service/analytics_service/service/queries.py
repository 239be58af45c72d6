"""Read-side use cases: figures for a pupil, a school, its cohorts, weeks, patterns and
flagged pupils, an LA's schools, and benchmarks."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.absence_runs import RunsAsked, YearRows, runs_of_school
from analytics_service.domain.flags import FlagRules
from analytics_service.domain.reports import (
    RECENT_SCHOOL_DAYS,
    Tally,
    cohort_tallies,
    patterns,
    pupil_habits,
    pupil_weeks,
    tally,
    weekly,
    year_slices,
)
from analytics_service.domain.school_year import SchoolYear
from analytics_service.domain.year_matrix import (
    YearMatrix,
    admitted_of,
    enrolment_mask,
    stay_label,
    stay_slots,
    stays_in_year,
    upn_of,
)
from analytics_service.repository import projections
from analytics_service.schemas import (
    AbsenceRunOut,
    AbsenceRunPage,
    Benchmarks,
    CohortAttribute,
    CohortFigures,
    Figures,
    FlagDetail,
    FlagOut,
    FlagPage,
    FlagToday,
    LAAttendance,
    PatternOut,
    Patterns,
    PenaltyThresholdOut,
    PenaltyThresholdPage,
    Period,
    PeriodKind,
    PupilAttendance,
    SchoolAttendance,
    SchoolLine,
    WeeklySeries,
    WeekOut,
    WithheldRateFlags,
)
from analytics_service.service.years import PupilNow, penalty_histories, pupils_now, year_of
from attendance_shared.bounds import EARLIEST_DAY, LATEST_DAY
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.rules import national_benchmarks
from attendance_shared.rules.codes import LATE_CODES
from attendance_shared.rules.cohorts import ETHNICITIES, Population, in_population
from attendance_shared.rules.figures import AttendanceFigures, academic_year_of, academic_year_start
from attendance_shared.rules.thresholds import PENALTY_NOTICE_SESSIONS

# Registers are kept six years; a period reaching far outside any register is a mistake, and
# a bound keeps one request from touching centuries of empty years. (Dates the API takes
# already lie within `bounds.EARLIEST_DAY` and `LATEST_DAY`; this checks callers in code.)
MAX_ACADEMIC_YEARS = 7


def _bad(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"`{field}` {message}", errors=[{"field": field, "message": message}])


async def resolve_period(
    session: AsyncSession,
    urn: str,
    *,
    start: date | None,
    end: date | None,
    kind: PeriodKind | None,
    on: date | None,
    today: date,
) -> Period:
    """An explicit range, or the calendar's week, half-term, term or year holding `on`
    (default today); with nothing given, the academic year to date."""
    if kind is not None and (start or end):
        raise _bad("period", "cannot be combined with `from` and `to`")
    for field, day in (("from", start), ("to", end), ("on", on)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise _bad(field, f"must lie between {EARLIEST_DAY} and {LATEST_DAY}")
    if start and end and academic_year_of(end) - academic_year_of(start) >= MAX_ACADEMIC_YEARS:
        raise _bad("from", f"the period may span at most {MAX_ACADEMIC_YEARS} academic years")
    if kind is None:
        end = end or today
        start = start or academic_year_start(academic_year_of(end))
        if start > end:
            raise _bad("from", "is after `to`")
        return Period(start=start, end=end, kind="range")
    on = on or today
    year = academic_year_of(on)
    if kind == "week":
        monday = on - timedelta(days=on.weekday())
        return Period(start=monday, end=monday + timedelta(days=6), kind="week")
    if kind == "year":
        return Period(
            start=academic_year_start(year), end=academic_year_start(year + 1) - timedelta(days=1), kind="year"
        )
    school_year = year_of(await projections.calendars(session, [(urn, year)]), urn, year)
    spans = school_year.terms if kind == "term" else school_year.half_terms
    if not spans:
        raise _bad("period", f"half-terms need the school's calendar for {year}/{(year + 1) % 100:02d}")
    holding = [s for s in spans if s.start <= on <= s.end] or [s for s in spans if s.end < on] or list(spans[:1])
    span = holding[-1]
    return Period(start=span.start, end=span.end, kind=kind, name=span.name)


@dataclass
class YearSlice:
    upns: list[str]  # a row's label: the UPN, or `stay_label` for each of a pupil's two stays
    matrix: YearMatrix
    year: SchoolYear
    start_slot: int
    end_slot: int
    flag_bits: list[int]


async def school_slices(
    session: AsyncSession, urn: str, period: Period, upns: Sequence[str] | None = None, *, by_stay: bool = True
) -> list[YearSlice]:
    """Each academic year of the period: the school's pupils as one matrix. With `by_stay`, a
    pupil with two stays in a year has a row for each (figures count enrolments); without,
    one row for the pupil (runs of absence follow the pupil over both)."""
    slices = []
    enrolments: dict | None = None  # read once, for whichever years hold rows
    for academic_year, start_slot, end_slot in year_slices(period.start, period.end):
        rows = await projections.school_year_rows(session, urn, academic_year, upns)
        if not rows:
            continue
        if enrolments is None:
            enrolments = await projections.school_enrolments(session, urn)
        calendars = await projections.calendars(session, [(urn, academic_year)])
        labels, codes, masks = [], [], []
        for r in rows:
            stays = stays_in_year(enrolments.get(r.upn), academic_year)
            if len(stays) < 2 or not by_stay:
                labels.append(r.upn)
                codes.append(r.codes)
                masks.append(enrolment_mask(enrolments.get(r.upn), academic_year))
                continue
            for stay in stays:  # each stay an enrolment of its own, as the DfE counts them
                labels.append(stay_label(r.upn, stay[0]))
                codes.append(r.codes)
                masks.append(stay_slots([stay], academic_year))
        matrix = YearMatrix.of(academic_year, codes, masks)
        slices.append(
            YearSlice(
                labels,
                matrix,
                year_of(calendars, urn, academic_year),
                start_slot,
                end_slot,
                [r.flags for r in rows],
            )
        )
    return slices


def cohort(group: str, t: Tally) -> CohortFigures:
    persistent, severe = t.persistent_and_severe()

    def rate(n: int) -> float | None:
        return round(100 * n / t.pupils, 2) if t.pupils else None

    return CohortFigures(
        group=group,
        pupils=t.pupils,
        figures=Figures.of(t.figures),
        persistent_absence_pupils=persistent,
        severe_absence_pupils=severe,
        persistent_absence_rate=rate(persistent),
        severe_absence_rate=rate(severe),
    )


def _late(code_counts: dict[str, int]) -> int:
    return sum(code_counts.get(c, 0) for c in LATE_CODES)


async def pupil_attendance(
    session: AsyncSession, urn: str, upn: str, period: Period, rules: FlagRules
) -> PupilAttendance:
    slices = await school_slices(session, urn, period, [upn])
    if not slices:
        raise NotFound(f"no attendance recorded for pupil {upn} at school {urn} in that period")
    total = Tally()
    for s in slices:
        tally(s.upns, s.matrix, s.start_slot, s.end_slot, total)
    current_year = academic_year_of(period.end)
    now = (await pupils_now(session, urn, [upn], current_year, rules)).get(upn)
    active, withheld = (now.flags, now.withheld) if now else ({}, None)
    flags = [
        FlagDetail(
            flag=flag,
            academic_year=current_year,
            evidence_count=evidence.count if evidence else None,
            evidence_unit=evidence.unit if evidence else None,
            evidence_since=evidence.since if evidence else None,
            evidence_until=evidence.until if evidence else None,
            evidence_reached_on=evidence.reached_on if evidence else None,
        )
        for flag, evidence in sorted(active.items())
    ]
    codes = total.code_counts()
    penalty = (await penalty_histories(session, urn, current_year, [upn])).get(upn)
    return PupilAttendance(
        school_urn=urn,
        upn=upn,
        period=period,
        figures=Figures.of(total.figures),
        code_counts=codes,
        late_sessions=_late(codes),
        flags=flags,
        penalty_threshold_reached_on=penalty.reached_on if penalty else [],
        flags_withheld=None
        if withheld is None
        else WithheldRateFlags(
            flags=list(withheld.flags),
            possible_sessions=withheld.possible_sessions,
            needed_possible_sessions=withheld.needed,
            reason=withheld.reason,
        ),
    )


def version_label(attribute: CohortAttribute):
    def label(version: object) -> str:
        if attribute == "ethnic_group":
            code = version.ethnicity
            return ETHNICITIES[code].group if code in ETHNICITIES else "unknown"
        value = getattr(version, attribute)
        if value is None:
            return "unknown"
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    return label


def _in_population(s: YearSlice, versions: dict[str, list], population: Population) -> YearSlice:
    """The slice's rows of pupils in the population, by their latest record (a birth date does
    not change; boarding is taken as it now stands)."""
    if population == "on_roll":
        return s
    keep = []
    for index, label in enumerate(s.upns):
        history = versions.get(upn_of(label))
        latest = history[-1] if history else None
        if latest is not None and in_population(population, latest.date_of_birth, latest.boarder, s.year.academic_year):
            keep.append(index)
    matrix = YearMatrix(s.matrix.academic_year, s.matrix.codes[keep])
    return replace(s, upns=[s.upns[i] for i in keep], matrix=matrix, flag_bits=[s.flag_bits[i] for i in keep])


async def school_attendance(
    session: AsyncSession,
    urn: str,
    period: Period,
    group_by: CohortAttribute | None,
    min_possible: int,
    *,
    population: Population = "on_roll",
) -> SchoolAttendance:
    needs_versions = group_by is not None or population != "on_roll"
    versions = await projections.school_versions(session, urn) if needs_versions else {}
    slices = [_in_population(s, versions, population) for s in await school_slices(session, urn, period)]
    total = Tally()
    groups: dict[str, Tally] = {}
    for s in slices:
        tally(s.upns, s.matrix, s.start_slot, s.end_slot, total)
        if group_by:
            cohort_tallies(s.upns, s.matrix, versions, version_label(group_by), s.start_slot, s.end_slot, groups)
    codes = total.code_counts()
    summary = cohort("all", total)
    note = None
    if summary.pupils and summary.figures.possible_sessions / summary.pupils < min_possible:
        note = (
            f"fewer than {min_possible} possible sessions per pupil on average: rates and persistent absence "
            "are unstable this early"
        )
    return SchoolAttendance(
        **summary.model_dump(),
        school_urn=urn,
        period=period,
        code_counts=codes,
        late_sessions=_late(codes),
        group_by=group_by,
        population=population,
        groups=[cohort(name, groups[name]) for name in sorted(groups, key=natural)],
        minimum_possible_sessions_note=note,
    )


def natural(label: str) -> tuple[int, str]:
    return (int(label), "") if label.isdigit() else (1_000, label)


async def pupils_attendance(
    session: AsyncSession, urn: str, period: Period, *, cursor: str | None, limit: int, habits: bool = False
) -> dict[str, Any]:
    """A page of `PupilAttendancePage` as plain values: la-returns reads every pupil of an LA
    through it, and a model per pupil cost more than the figures themselves. With `habits`,
    each row also has its absences by weekday and its recent lateness (parents' summaries)."""
    total = Tally()
    weekdays: dict[str, list[int]] = {}
    recent_lates: dict[str, list[bool]] = {}
    for s in await school_slices(session, urn, period):
        tally(s.upns, s.matrix, s.start_slot, s.end_slot, total)
        if habits and s.upns:
            by_weekday, recent = pupil_habits(s.matrix, s.start_slot, s.end_slot)
            for row, label in enumerate(s.upns):
                counts = weekdays.setdefault(label, [0] * 5)
                weekdays[label] = [a + b for a, b in zip(counts, by_weekday[row].tolist(), strict=True)]
                recent_lates[label] = (recent_lates.get(label, []) + recent[row])[-RECENT_SCHOOL_DAYS:]
    rows = total.pupil_rows()
    upns = sorted({upn_of(label) for label in rows if cursor is None or upn_of(label) > cursor})
    page = upns[:limit]
    shown = set(page)
    items = []
    for label in sorted(label for label in rows if upn_of(label) in shown):
        lates, present, aea, auth, unauth = rows[label].tolist()
        figures = AttendanceFigures(present + aea + auth + unauth, present, aea, auth, unauth)
        admitted = admitted_of(label)
        items.append(
            {
                "upn": upn_of(label),
                "admitted_on": admitted.isoformat() if admitted else None,
                "figures": Figures.values_of(figures),
                "late_sessions": lates,
            }
        )
        if habits:
            items[-1] |= {
                "absent_sessions_by_weekday": weekdays.get(label, [0] * 5),
                "late_on_recent_school_days": recent_lates.get(label, []),
            }
    return {
        "period": period.model_dump(mode="json"),
        "items": items,
        "next_cursor": page[-1] if len(upns) > limit else None,
    }


async def absence_runs(
    session: AsyncSession, urn: str, period: Period, asked: RunsAsked, *, cursor: str | None, limit: int
) -> AbsenceRunPage:
    """Pupils' runs of continuous unauthorised absence, or spells and totals of illness, that
    reached their threshold by the period's end and reach into it. A run is followed from the
    academic year before the period's, so one begun in July is seen whole in September."""
    first_year = academic_year_of(period.start) - (1 if asked == "continuous_unauthorised" else 0)
    followed = period.model_copy(update={"start": min(period.start, academic_year_start(first_year))})
    years = [
        YearRows(s.matrix.academic_year, s.upns, s.matrix, s.end_slot)
        for s in await school_slices(session, urn, followed, by_stay=False)
    ]
    found, next_cursor = runs_of_school(years, asked, period.start, cursor, limit)
    return AbsenceRunPage(
        period=period,
        runs=asked,
        items=[AbsenceRunOut.of(upn, qualified_by, run) for upn, qualified_by, run in found],
        next_cursor=next_cursor,
    )


async def weekly_series(session: AsyncSession, urn: str, period: Period, upn: str | None = None) -> WeeklySeries:
    weeks: list[WeekOut] = []
    slices = await school_slices(session, urn, period, [upn] if upn else None)
    if upn and not slices:
        raise NotFound(f"no attendance recorded for pupil {upn} at school {urn} in that period")
    for s in slices:
        weeks += [WeekOut(week_start=w.week_start, figures=Figures.of(w.figures))
                  for w in weekly(s.matrix, s.year, s.start_slot, s.end_slot)]  # fmt: skip
    return WeeklySeries(period=period, weeks=weeks)


async def session_patterns(session: AsyncSession, urn: str, period: Period, upn: str | None = None) -> Patterns:
    slices = await school_slices(session, urn, period, [upn] if upn else None)
    if upn and not slices:
        raise NotFound(f"no attendance recorded for pupil {upn} at school {urn} in that period")
    merged: dict[tuple[str, str], list[int]] = {}
    total = Tally()
    for s in slices:
        tally(s.upns, s.matrix, s.start_slot, s.end_slot, total)
        for p in patterns(s.matrix, s.year, s.start_slot, s.end_slot):
            counts = merged.setdefault((p.weekday, p.session), [0, 0, 0])
            counts[0] += p.possible
            counts[1] += p.absent
            counts[2] += p.unauthorised
    by_session = [
        PatternOut(
            weekday=weekday,
            session=half,  # type: ignore[arg-type]
            possible_sessions=possible,
            absence_sessions=absent,
            unauthorised_sessions=unauthorised,
            absence_rate=round(100 * absent / possible, 2) if possible else None,
        )
        for (weekday, half), (possible, absent, unauthorised) in merged.items()
    ]
    return Patterns(period=period, by_session=by_session, code_counts=total.code_counts())


def _flag_today(now: PupilNow | None, flag: str) -> FlagToday | None:
    if now is None:
        return None
    evidence = now.flags.get(flag)  # type: ignore[call-overload]
    return FlagToday(
        possible_sessions=now.possible,
        absent_sessions=now.absent,
        overall_absence_rate=now.overall_absence_rate,
        still_due=flag in now.flags,
        evidence_count=evidence.count if evidence else None,
        evidence_unit=evidence.unit if evidence else None,
        evidence_since=evidence.since if evidence else None,
        evidence_until=evidence.until if evidence else None,
        evidence_reached_on=evidence.reached_on if evidence else None,
    )


async def penalty_thresholds(
    session: AsyncSession, urn: str, *, academic_year: int, cursor: str | None, limit: int
) -> PenaltyThresholdPage:
    """Pupils who reached the penalty-notice threshold this year, on which days, and where
    their count stands today: the list a school works through to consider a notice."""
    histories = await penalty_histories(session, urn, academic_year)
    upns = sorted(u for u, h in histories.items() if h.reached_on and (cursor is None or u > cursor))
    page = upns[:limit]
    items = [
        PenaltyThresholdOut(
            upn=upn,
            reached_on=histories[upn].reached_on,
            sessions_now=histories[upn].sessions_now,
            over_now=histories[upn].sessions_now >= PENALTY_NOTICE_SESSIONS,
        )
        for upn in page
    ]
    return PenaltyThresholdPage(
        academic_year=academic_year, items=items, next_cursor=page[-1] if len(upns) > limit else None
    )


async def flagged(
    session: AsyncSession,
    urn: str,
    *,
    rules: FlagRules,
    academic_year: int,
    flag: str | None,
    year_group: str | None,
    cursor: tuple[str, str] | None,
    limit: int,
) -> FlagPage:
    upns = None
    if year_group is not None:
        versions = await projections.school_versions(session, urn)
        upns = [upn for upn, history in versions.items() if history[-1].year_group == year_group]
    rows = await projections.flags_page(
        session, urn, academic_year=academic_year, flag=flag, upns=upns, after=cursor, limit=limit + 1
    )
    now = await pupils_now(session, urn, sorted({r.upn for r in rows[:limit]}), academic_year, rules)
    items = [
        FlagOut(
            upn=r.upn,
            flag=r.flag,
            academic_year=r.academic_year,
            possible_sessions=r.possible_sessions,
            absent_sessions=r.absent_sessions,
            overall_absence_rate=r.overall_absence_rate,
            evidence_count=r.evidence_count,
            evidence_unit=r.evidence_unit,
            evidence_since=r.evidence_since,
            evidence_until=r.evidence_until,
            evidence_reached_on=r.evidence_reached_on,
            as_of=r.as_of,
            today=_flag_today(now.get(r.upn), r.flag),
        )
        for r in rows[:limit]
    ]
    next_cursor = f"{items[-1].upn}:{items[-1].flag}" if len(rows) > limit else None
    return FlagPage(academic_year=academic_year, items=items, next_cursor=next_cursor)


async def la_attendance(session: AsyncSession, la_code: str, period: Period) -> LAAttendance:
    total = Tally()
    lines = []
    for school in await projections.schools_of_la(session, la_code):
        school_tally = Tally()
        for s in await school_slices(session, school.urn, period):
            tally(s.upns, s.matrix, s.start_slot, s.end_slot, school_tally)
            tally([f"{school.urn}:{u}" for u in s.upns], s.matrix, s.start_slot, s.end_slot, total)
        lines.append(
            SchoolLine(**cohort(school.urn, school_tally).model_dump(), school_urn=school.urn, name=school.name)
        )
    return LAAttendance(la_code=la_code, period=period, total=cohort("all", total), schools=lines)


async def benchmarks(session: AsyncSession, urn: str, period: Period) -> Benchmarks:
    la_code = await projections.school_la_code(session, urn)
    if la_code is None:
        raise NotFound(f"no attendance recorded for school {urn}")
    la = await la_attendance(session, la_code, period)
    mine = next((line for line in la.schools if line.school_urn == urn), None)
    school = (await projections.school_rows(session, [urn])).get(urn)
    national = national_benchmarks.latest(school.phase if school else None)
    return Benchmarks(
        school_urn=urn,
        period=period,
        school=CohortFigures(**(mine.model_dump() if mine else cohort(urn, Tally()).model_dump())),
        local_authority=la.total.model_copy(update={"group": la_code}),
        la_code=la_code,
        national=national,
        reference_version=national_benchmarks.REFERENCE_VERSION,
    )


async def pupils_by_week(
    session: AsyncSession, urn: str, period: Period, *, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Every pupil's possible and attended sessions in each school week of the period, as
    arrays aligned with `weeks`: what a comparison of any two windows of weeks needs, for a
    whole school in one answer. A pupil has a row once, whatever their stays."""
    by_pupil: dict[str, dict[date, tuple[int, int]]] = {}
    all_weeks: set[date] = set()
    for s in await school_slices(session, urn, period, by_stay=False):
        mondays, possible, attended = pupil_weeks(s.matrix, s.year, s.start_slot, s.end_slot)
        all_weeks.update(mondays)
        for row, upn in enumerate(s.upns):
            weeks = by_pupil.setdefault(upn, {})
            for column, monday in enumerate(mondays):
                weeks[monday] = (int(possible[row, column]), int(attended[row, column]))
    ordered = sorted(all_weeks)
    upns = sorted(u for u in by_pupil if cursor is None or u > cursor)
    page = upns[:limit]
    return {
        "period": period.model_dump(mode="json"),
        "weeks": [w.isoformat() for w in ordered],
        "items": [
            {
                "upn": upn,
                "possible": [by_pupil[upn].get(w, (0, 0))[0] for w in ordered],
                "attended": [by_pupil[upn].get(w, (0, 0))[1] for w in ordered],
            }
            for upn in page
        ],
        "next_cursor": page[-1] if len(upns) > limit else None,
    }
