"""A school's academic year as the domain needs it: calendar arrays and flag rules."""

from datetime import date

from sqlalchemy import Row

from analytics_service.domain.flags import FlagRules
from analytics_service.domain.school_year import WEEKDAYS_ONLY, SchoolYear, school_year
from attendance_shared.rules.calendar import Calendar, Closure, SchoolCalendar, Term


def calendar_of(row: Row | None) -> Calendar:
    """The school's own calendar, or every weekday for a school that has not sent one: the same
    fallback the register uses to accept marks."""
    if row is None:
        return WEEKDAYS_ONLY
    return SchoolCalendar(
        academic_year=row.academic_year,
        terms=tuple(
            Term(
                name=t["name"],
                start=date.fromisoformat(t["start"]),
                end=date.fromisoformat(t["end"]),
                half_term_start=date.fromisoformat(t["half_term_start"]) if t.get("half_term_start") else None,
                half_term_end=date.fromisoformat(t["half_term_end"]) if t.get("half_term_end") else None,
            )
            for t in row.terms
        ),
        closures=tuple(
            Closure(day=date.fromisoformat(c["day"]), kind=c["kind"], session=c.get("session"), reason=c.get("reason"))
            for c in row.closures
        ),
    )


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
