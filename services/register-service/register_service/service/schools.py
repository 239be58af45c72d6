"""Schools and their calendars: the register's frame of which days and sessions exist."""

from datetime import date, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.clock import today_in_england
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.events import SchoolCalendarSetV1, SchoolTrust, SchoolUpsertedV1
from attendance_shared.rules.calendar import (
    Calendar,
    CalendarYears,
    SchoolCalendar,
    WeekdayCalendar,
    calendar_from_values,
    validate_calendar,
)
from attendance_shared.rules.figures import academic_year_of, academic_year_start
from register_service.domain.register_rules import check_register_times
from register_service.repository import pupils as pupil_repository
from register_service.repository import schools as school_repository
from register_service.schemas import CalendarIn, CalendarOut, SchoolIn, SchoolOut, TrustHistory, TrustMembership
from register_service.service.events import publish_school_event


async def put_school(session: AsyncSession, urn: str, school: SchoolIn) -> SchoolOut:
    problems = check_register_times(
        (school.am_register_opens, school.am_register_closes), (school.pm_register_opens, school.pm_register_closes)
    )
    if problems:
        raise Unprocessable.of_fields(problems, detail="; ".join(message for _, message in problems))
    previous = await school_repository.get(session, urn)
    await _move_trust(session, urn, previous.trust if previous is not None else None, school.trust)
    await school_repository.upsert(session, urn, school.model_dump(mode="json") | _times(school))
    event = SchoolUpsertedV1(
        urn=urn,
        la_code=school.la_code,
        establishment_number=school.establishment_number,
        name=school.name,
        phase=school.phase,
        am_register_closes=school.am_register_closes,
        pm_register_closes=school.pm_register_closes,
        unexplained_absence_days=school.unexplained_absence_days,
        trust=school.trust,
    )
    await publish_school_event(session, event, urn)
    return SchoolOut(urn=urn, **school.model_dump())


def _times(school: SchoolIn) -> dict:
    """The register times as `time` values: the column types want them, not JSON strings."""
    return {k: getattr(school, k) for k in ("am_register_opens", "am_register_closes", "pm_register_opens",
                                              "pm_register_closes")}  # fmt: skip


async def _move_trust(session: AsyncSession, urn: str, current: dict | None, wanted: SchoolTrust | None) -> None:
    """Keep the membership history: a different trust closes the last one the day before it
    joins; none any more closes it today. The same trust again changes nothing."""
    if (current or {}).get("trust_id") == (wanted.trust_id if wanted else None):
        return
    if wanted is None:
        await school_repository.change_trust(session, urn, leaves_after=today_in_england(), joins=None)
        return
    history = await school_repository.trust_history(session, urn)
    if history:
        last = history[-1]
        since = last.joined_on if last.left_on is None else last.left_on
        if wanted.joined_on <= since:
            raise Unprocessable.of_field(
                "trust.joined_on",
                f"must be after {since}, when the school {'joined' if last.left_on is None else 'left'} {last.name}",
            )
    await school_repository.change_trust(
        session,
        urn,
        leaves_after=wanted.joined_on - timedelta(days=1) if current is not None else None,
        joins=wanted.model_dump(),
    )


async def trust_history(session: AsyncSession, urn: str) -> TrustHistory:
    await require_school(session, urn)
    rows = await school_repository.trust_history(session, urn)
    return TrustHistory(school_urn=urn, items=[TrustMembership(**r._asdict()) for r in rows])


async def get_school(session: AsyncSession, urn: str) -> SchoolOut:
    return SchoolOut.model_validate((await require_school(session, urn))._asdict())


async def require_pupil(session: AsyncSession, urn: str, upn: str) -> Row:
    """The pupil's row on the school's admission register, or a 404."""
    row = await pupil_repository.get(session, urn, upn)
    if row is None:
        raise NotFound(f"pupil {upn} not found at school {urn}")
    return row


async def require_school(session: AsyncSession, urn: str) -> Row:
    row = await school_repository.get(session, urn)
    if row is None:
        raise NotFound(f"school {urn} not found")
    return row


def _domain_calendar(body: CalendarIn) -> SchoolCalendar:
    return calendar_from_values(
        body.academic_year, [t.model_dump() for t in body.terms], [c.model_dump() for c in body.closures]
    )


def _calendar_out(urn: str, body: CalendarIn, calendar: SchoolCalendar) -> CalendarOut:
    first, last = calendar.terms[0].start, calendar.terms[-1].end
    return CalendarOut(
        school_urn=urn,
        **body.model_dump(),
        school_days=len(calendar.school_days(first, last)),
        possible_sessions=calendar.possible_session_count(first, last),
    )


async def put_calendar(session: AsyncSession, urn: str, body: CalendarIn, *, updated_by: str) -> CalendarOut:
    school = await require_school(session, urn)
    calendar = _domain_calendar(body)
    if errors := validate_calendar(calendar):
        raise Unprocessable(
            f"the calendar has {len(errors)} problem(s); nothing was stored", errors=[e.as_dict() for e in errors]
        )
    stored = body.model_dump(mode="json")
    await school_repository.upsert_calendar(
        session, urn, body.academic_year, terms=stored["terms"], closures=stored["closures"], updated_by=updated_by
    )
    event = SchoolCalendarSetV1(
        school_urn=urn,
        la_code=school.la_code,
        academic_year=body.academic_year,
        terms=body.terms,
        closures=body.closures,
    )
    await publish_school_event(session, event, urn)
    return _calendar_out(urn, body, calendar)


async def get_calendar(session: AsyncSession, urn: str, academic_year: int) -> CalendarOut:
    await require_school(session, urn)
    row = await school_repository.get_calendar(session, urn, academic_year)
    if row is None:
        raise NotFound(f"school {urn} has no calendar for {academic_year}/{(academic_year + 1) % 100:02d}")
    body = CalendarIn(academic_year=academic_year, terms=row.terms, closures=row.closures)
    return _calendar_out(urn, body, _domain_calendar(body))


async def calendar_for(session: AsyncSession, urn: str, day: date) -> Calendar:
    """The school's calendar for the academic year of `day`; without one, every weekday is a
    school day (the school has not told us otherwise)."""
    year = academic_year_of(day)
    row = await school_repository.get_calendar(session, urn, year)
    if row is None:
        return WeekdayCalendar()
    return _domain_calendar(CalendarIn(academic_year=year, terms=row.terms, closures=row.closures))


async def calendars_on(session: AsyncSession, urns: list[str], day: date) -> dict[str, Calendar]:
    """Each school's calendar for the academic year of `day` (every weekday without one)."""
    year = academic_year_of(day)
    rows = await school_repository.calendars_of(session, urns, year)
    return {
        urn: _domain_calendar(CalendarIn(academic_year=year, terms=rows[urn].terms, closures=rows[urn].closures))
        if urn in rows
        else WeekdayCalendar()
        for urn in urns
    }


async def calendars_between(session: AsyncSession, urn: str, first: date, last: date) -> CalendarYears:
    """The school's calendars of every academic year from `first` to `last`, read as one, so
    school days are counted across the summer."""
    years = {year: await calendar_for(session, urn, academic_year_start(year)) for year in
             range(academic_year_of(first), academic_year_of(last) + 1)}  # fmt: skip
    return CalendarYears.spanning(years, first)
