"""Read-side use cases: figures for a pupil, a school, and its flagged pupils."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.repository import projections
from analytics_service.schemas import Figures, FlagOut, FlagPage, PupilAttendance, PupilAttendancePage, SchoolAttendance
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.rules.codes import Category
from attendance_shared.rules.figures import AttendanceFigures, academic_year_of, academic_year_start


def resolve_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """Default: the academic year to date."""
    end = end or today
    start = start or academic_year_start(academic_year_of(end))
    if start > end:
        raise Unprocessable("`from` is after `to`", errors=[{"field": "from", "message": "after `to`"}])
    return start, end


def _figures(counts: dict[str, int]) -> AttendanceFigures:
    return AttendanceFigures.from_category_counts({Category(k): v for k, v in counts.items()})


async def pupil_attendance(session: AsyncSession, urn: str, upn: str, start: date, end: date) -> PupilAttendance:
    counts = (await projections.category_counts(session, urn, start, end, [upn])).get(upn)
    if counts is None:
        raise NotFound(f"no attendance recorded for pupil {upn} at school {urn} in that period")
    return PupilAttendance(
        school_urn=urn,
        upn=upn,
        start=start,
        end=end,
        figures=Figures.of(_figures(counts)),
        flags=await projections.pupil_flags(session, urn, upn),
    )


async def school_attendance(session: AsyncSession, urn: str, start: date, end: date) -> SchoolAttendance:
    per_pupil = [_figures(c) for c in (await projections.category_counts(session, urn, start, end)).values()]
    total = sum(per_pupil, AttendanceFigures())
    return SchoolAttendance(
        school_urn=urn,
        start=start,
        end=end,
        pupils=len(per_pupil),
        figures=Figures.of(total),
        persistent_absence_pupils=sum(f.is_persistent_absence for f in per_pupil),
        severe_absence_pupils=sum(f.is_severe_absence for f in per_pupil),
    )


async def pupils_attendance(
    session: AsyncSession, urn: str, start: date, end: date, *, cursor: str | None, limit: int
) -> PupilAttendancePage:
    upns = await projections.pupils_page(session, urn, start, end, after_upn=cursor, limit=limit + 1)
    page = upns[:limit]
    counts = await projections.category_counts(session, urn, start, end, page)
    items = [
        PupilAttendance(
            school_urn=urn, upn=upn, start=start, end=end, figures=Figures.of(_figures(counts[upn])), flags=[]
        )
        for upn in page
    ]
    return PupilAttendancePage(start=start, end=end, items=items, next_cursor=page[-1] if len(upns) > limit else None)


async def flagged(session: AsyncSession, urn: str, *, flag: str | None, cursor: str | None, limit: int) -> FlagPage:
    rows = await projections.flags_page(session, urn, flag=flag, after_upn=cursor, limit=limit + 1)
    items = [
        FlagOut(
            upn=r.upn,
            flag=r.flag,
            academic_year=r.academic_year,
            possible_sessions=r.possible_sessions,
            absent_sessions=r.absent_sessions,
            overall_absence_rate=r.overall_absence_rate,
        )
        for r in rows[:limit]
    ]
    return FlagPage(items=items, next_cursor=items[-1].upn if len(rows) > limit else None)
