"""A school's academic year as the domain needs it: calendar arrays and flag rules."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.encoding import SLOTS, UNAUTHORISED, day_of_slot
from analytics_service.domain.flags import (
    FlagRules,
    PenaltyHistory,
    PreviousYear,
    PupilFlags,
    WithheldFlags,
    evaluate_flags,
    penalty_threshold_days,
    previous_row,
    reaches_previous_year,
    timetable_flags,
    withheld_rate_flags,
)
from analytics_service.domain.pupil_year import PupilYearKey
from analytics_service.domain.school_year import WEEKDAYS_ONLY, SchoolYear, school_year
from analytics_service.domain.year_matrix import YearMatrix, absent_and_possible, enrolment_mask
from analytics_service.repository import projections
from attendance_shared.rules.calendar import Calendar, calendar_from_values
from attendance_shared.rules.figures import AttendanceFigures
from attendance_shared.rules.thresholds import PENALTY_NOTICE_SESSIONS


def calendar_of(row: Row | None) -> Calendar:
    """The school's own calendar, or every weekday for a school that has not sent one: the same
    fallback the register uses to accept marks."""
    if row is None:
        return WEEKDAYS_ONLY
    return calendar_from_values(row.academic_year, row.terms, row.closures)


def year_of(calendars: dict[tuple[str, int], Row], urn: str, academic_year: int) -> SchoolYear:
    return school_year(calendar_of(calendars.get((urn, academic_year))), academic_year)


def rules_of(school: Row | None, defaults: FlagRules) -> FlagRules:
    if school is None:
        return defaults
    return FlagRules(
        min_possible_sessions=defaults.min_possible_sessions,
        unexplained_absence_days=school.unexplained_absence_days,
        at_risk_lower_percent=defaults.at_risk_lower_percent,
        at_risk_trend_weeks=defaults.at_risk_trend_weeks,
    )


async def looks_back(
    session: AsyncSession, matrix: YearMatrix, calendar: SchoolYear, keys: Sequence[PupilYearKey]
) -> bool:
    """Whether these pupils' flags need last year's rows: the penalty window reaches back (the
    first ten school weeks), or one of them left an N standing last year."""
    if reaches_previous_year(matrix, calendar):
        return True
    return bool(await projections.with_unexplained(session, [(urn, upn, year - 1) for urn, upn, year in keys]))


async def previous_year(
    session: AsyncSession, keys: Sequence[PupilYearKey], year: int, calendars: dict, enrolments: dict
) -> PreviousYear | None:
    """Last year's rows for the same pupils, in the same order (zeros where a pupil has none),
    for the windows and runs that reach back over the summer; None when nobody has any."""
    found = await projections.pupil_year_rows(session, [(urn, upn, year - 1) for urn, upn, _ in keys])
    if not found:
        return None
    empty = bytes(SLOTS)
    rows = [found[(urn, upn, year - 1)].codes if (urn, upn, year - 1) in found else empty for urn, upn, _ in keys]
    masks = [enrolment_mask(enrolments.get((urn, upn)), year - 1) for urn, upn, _ in keys]
    return PreviousYear(YearMatrix.of(year - 1, rows, masks), year_of(calendars, keys[0][0], year - 1))


@dataclass(frozen=True, slots=True)
class PupilNow:
    """One pupil's year as it stands: flags with today's evidence, the rate flags withheld for
    too few sessions, and the year's absent and possible sessions."""

    flags: PupilFlags
    withheld: WithheldFlags | None
    absent: int
    possible: int

    @property
    def overall_absence_rate(self) -> float | None:
        return AttendanceFigures(possible=self.possible, authorised=self.absent).overall_absence_rate


async def pupils_now(
    session: AsyncSession, urn: str, upns: Sequence[str], year: int, defaults: FlagRules
) -> dict[str, PupilNow]:
    """These pupils' flags and figures for the year as of now, evaluated as the consumer
    evaluates them (a stored flag keeps the evidence of the batch that raised it; this is
    today's). Pupils with no marks in the year are left out."""
    rows = await projections.pupil_year_rows(session, [(urn, upn, year) for upn in upns])
    keys = [(urn, upn, year) for upn in upns if (urn, upn, year) in rows]
    if not keys:
        return {}
    calendars = await projections.calendars(session, [(urn, year), (urn, year - 1)])
    school = (await projections.school_rows(session, [urn])).get(urn)
    enrolments = await projections.enrolments_of(session, [(urn, upn) for _, upn, _ in keys])
    matrix = YearMatrix.of(
        year, [rows[k].codes for k in keys], [enrolment_mask(enrolments.get((urn, k[1])), year) for k in keys]
    )
    calendar = year_of(calendars, urn, year)
    previous = None
    if await looks_back(session, matrix, calendar, keys):
        previous = await previous_year(session, keys, year, calendars, enrolments)
    rules = rules_of(school, defaults)
    absent, possible = absent_and_possible(matrix.up_to_latest().categories)
    flags = evaluate_flags(matrix, calendar, rules, previous)
    timetables = await projections.timetables_of(session, [(urn, upn) for _, upn, _ in keys])
    latest = matrix.up_to_latest().latest_slot().tolist()
    for i, (_, upn, _) in enumerate(keys):
        as_of = day_of_slot(year, latest[i]) if latest[i] >= 0 else None
        flags[i] |= timetable_flags(timetables.get((urn, upn), ()), as_of)
    return {
        upn: PupilNow(
            flags[i],
            withheld_rate_flags(int(absent[i]), int(possible[i]), rules),
            int(absent[i]),
            int(possible[i]),
        )
        for i, (_, upn, _) in enumerate(keys)
    }


async def penalty_histories(
    session: AsyncSession, urn: str, year: int, upns: Sequence[str] | None = None
) -> dict[str, PenaltyHistory]:
    """Each pupil's days this year on which the penalty-notice threshold was reached, with
    today's count: only pupils with an unauthorised session this year can have one."""
    rows = await projections.school_year_rows(session, urn, year, upns)
    if not rows:
        return {}
    enrolments = await projections.enrolments_of(session, [(urn, r.upn) for r in rows])
    matrix = YearMatrix.of(
        year, [r.codes for r in rows], [enrolment_mask(enrolments.get((urn, r.upn)), year) for r in rows]
    ).up_to_latest()
    unauthorised = np.count_nonzero(matrix.categories == UNAUTHORISED, axis=1)
    chosen = np.flatnonzero(unauthorised > 0).tolist()
    if not chosen:
        return {}
    keys = [(urn, rows[i].upn, year) for i in chosen]
    calendars = await projections.calendars(session, [(urn, year), (urn, year - 1)])
    calendar = year_of(calendars, urn, year)
    previous = await previous_year(session, keys, year, calendars, enrolments)
    before = (
        np.count_nonzero(previous.matrix.categories == UNAUTHORISED, axis=1)
        if previous is not None
        else np.zeros(len(keys), dtype=np.int64)
    )
    latest_day = np.maximum(matrix.latest_slot(), 0) // 2
    found = {}
    for j, i in enumerate(chosen):
        if unauthorised[i] + before[j] < PENALTY_NOTICE_SESSIONS:
            continue  # not even a whole year's worth reaches the threshold
        found[rows[i].upn] = penalty_threshold_days(
            matrix.categories[i], calendar, int(latest_day[i]), previous_row(previous, j)
        )
    return found
