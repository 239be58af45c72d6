"""A school's academic year as the domain needs it: calendar arrays and flag rules."""

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.flags import (
    FlagRules,
    PreviousYear,
    PupilFlags,
    WithheldFlags,
    evaluate_flags,
    reaches_previous_year,
    withheld_rate_flags,
)
from analytics_service.domain.school_year import WEEKDAYS_ONLY, SchoolYear, school_year
from analytics_service.domain.year_matrix import YearMatrix, absent_and_possible, enrolment_mask
from analytics_service.repository import projections
from attendance_shared.rules.calendar import Calendar, calendar_from_values


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


async def current_flags(
    session: AsyncSession, urn: str, upn: str, year: int, defaults: FlagRules
) -> tuple[PupilFlags, WithheldFlags | None]:
    """One pupil's flags with their evidence as of now, evaluated as the consumer evaluates
    them (a stored flag keeps the evidence of the batch that raised it), and the rate flags
    the year's figures reach but the minimum of possible sessions withholds."""
    this, last = (urn, upn, year), (urn, upn, year - 1)
    rows = await projections.pupil_year_rows(session, [this, last])
    if this not in rows:
        return {}, None
    calendars = await projections.calendars(session, [(urn, year), (urn, year - 1)])
    school = (await projections.school_rows(session, [urn])).get(urn)
    enrolments = (await projections.enrolments_of(session, [(urn, upn)])).get((urn, upn))
    matrix = YearMatrix.of(year, [rows[this].codes], [enrolment_mask(enrolments, year)])
    calendar = year_of(calendars, urn, year)
    previous = None
    if last in rows and reaches_previous_year(matrix, calendar):
        previous = PreviousYear(
            YearMatrix.of(year - 1, [rows[last].codes], [enrolment_mask(enrolments, year - 1)]),
            year_of(calendars, urn, year - 1),
        )
    rules = rules_of(school, defaults)
    absent, possible = absent_and_possible(matrix.up_to_latest().categories)
    withheld = withheld_rate_flags(int(absent[0]), int(possible[0]), rules)
    return evaluate_flags(matrix, calendar, rules, previous)[0], withheld
