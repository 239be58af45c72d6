"""Routers only: parse, authorise, call a service, shape the response."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from analytics_service.schemas import FlagPage, PupilAttendance, PupilAttendancePage, SchoolAttendance
from analytics_service.service import queries
from attendance_shared.auth import CurrentActor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from attendance_shared.rules.identifiers import URN_PATTERN

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["attendance"])
URN = Annotated[str, Path(pattern=URN_PATTERN, description="School URN (6 digits)")]
UPNPath = Annotated[str, Path(min_length=13, max_length=13)]
From = Annotated[date | None, Query(alias="from", description="First day (default: start of the academic year)")]
To = Annotated[date | None, Query(alias="to", description="Last day, inclusive (default: today)")]
READERS = (Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, Role.SERVICE)


async def _authorise(session: SessionDep, actor: CurrentActor, urn: str) -> None:
    actor.require_role(*READERS)
    if actor.role is Role.LA:
        actor.require_school(urn, la_code=await queries.require_school_la(session, urn))
    else:
        actor.require_school(urn)


@router.get("/pupils/{upn}/attendance", response_model=PupilAttendance, summary="One pupil's figures and flags")
async def pupil_attendance(
    urn: URN, upn: UPNPath, session: SessionDep, actor: CurrentActor, start: From = None, end: To = None
) -> PupilAttendance:
    await _authorise(session, actor, urn)
    start, end = queries.resolve_period(start, end, today_in_england())
    return await queries.pupil_attendance(session, urn, upn, start, end)


@router.get("/attendance", response_model=SchoolAttendance, summary="School figures for a period")
async def school_attendance(
    urn: URN, session: SessionDep, actor: CurrentActor, start: From = None, end: To = None
) -> SchoolAttendance:
    await _authorise(session, actor, urn)
    start, end = queries.resolve_period(start, end, today_in_england())
    return await queries.school_attendance(session, urn, start, end)


@router.get("/pupil-attendance", response_model=PupilAttendancePage, summary="Every pupil's figures, by UPN")
async def pupils_attendance(
    urn: URN,
    session: SessionDep,
    actor: CurrentActor,
    start: From = None,
    end: To = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> PupilAttendancePage:
    await _authorise(session, actor, urn)
    start, end = queries.resolve_period(start, end, today_in_england())
    return await queries.pupils_attendance(session, urn, start, end, cursor=cursor, limit=limit)


@router.get("/flags", response_model=FlagPage, summary="Pupils with an active risk flag")
async def flags(
    urn: URN,
    session: SessionDep,
    actor: CurrentActor,
    type: Annotated[Literal["persistent_absence", "severe_absence"] | None, Query()] = None,  # noqa: A002
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> FlagPage:
    await _authorise(session, actor, urn)
    return await queries.flagged(session, urn, flag=type, cursor=cursor, limit=limit)
