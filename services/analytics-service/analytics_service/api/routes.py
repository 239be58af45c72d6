"""Routers only: parse, authorise, call a service, shape the response."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from analytics_service.schemas import FlagPage, PupilAttendance, PupilAttendancePage, SchoolAttendance
from analytics_service.service import queries
from attendance_shared.access import Scope, allow
from attendance_shared.api_types import IsoDate, UPNCursor, UPNPath, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["attendance"])
From = Annotated[IsoDate | None, Query(alias="from", description="First day (default: start of the academic year)")]
To = Annotated[IsoDate | None, Query(alias="to", description="Last day, inclusive (default: today)")]
# A school's people and its LA see its figures (la-returns-service too, as a service); a
# parent or social worker sees only the figures of the children they hold.
_SCHOOL_ROLES = (Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, Role.SERVICE)
SchoolReader = Annotated[Actor, allow(*_SCHOOL_ROLES, scope=Scope.SCHOOL)]
PupilReader = Annotated[Actor, allow(*_SCHOOL_ROLES, Role.PARENT, Role.SOCIAL_WORKER, scope=Scope.PUPIL)]


@router.get("/pupils/{upn}/attendance", response_model=PupilAttendance, summary="One pupil's figures and flags")
async def pupil_attendance(
    urn: URNPath, upn: UPNPath, session: SessionDep, actor: PupilReader, start: From = None, end: To = None
) -> PupilAttendance:
    start, end = queries.resolve_period(start, end, today_in_england())
    return await queries.pupil_attendance(session, urn, upn, start, end)


@router.get("/attendance", response_model=SchoolAttendance, summary="School figures for a period")
async def school_attendance(
    urn: URNPath, session: SessionDep, actor: SchoolReader, start: From = None, end: To = None
) -> SchoolAttendance:
    start, end = queries.resolve_period(start, end, today_in_england())
    return await queries.school_attendance(session, urn, start, end)


@router.get("/pupil-attendance", response_model=PupilAttendancePage, summary="Every pupil's figures, by UPN")
async def pupils_attendance(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    start: From = None,
    end: To = None,
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> PupilAttendancePage:
    start, end = queries.resolve_period(start, end, today_in_england())
    return await queries.pupils_attendance(session, urn, start, end, cursor=cursor, limit=limit)


@router.get("/flags", response_model=FlagPage, summary="Pupils with an active risk flag")
async def flags(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    type: Annotated[Literal["persistent_absence", "severe_absence"] | None, Query()] = None,  # noqa: A002
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> FlagPage:
    return await queries.flagged(session, urn, flag=type, cursor=cursor, limit=limit)
