"""Routers only: parse, authorise, call a service, shape the response."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from attendance_shared.auth import CurrentActor, Role
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, Unprocessable
from attendance_shared.rules.identifiers import URN_PATTERN
from register_service.schemas import (
    AmendmentIn,
    MarkEntry,
    PupilIn,
    PupilMarks,
    PupilOut,
    PupilPage,
    RegisterIn,
    RegisterOut,
    RegisterResult,
    SchoolIn,
    SchoolOut,
    Session,
)
from register_service.service import pupils, registers, schools

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES)
URN = Annotated[str, Path(pattern=URN_PATTERN, description="School URN (6 digits)")]
UPNPath = Annotated[str, Path(min_length=13, max_length=13, description="Pupil UPN")]
WRITERS = (Role.MIS, Role.STAFF, Role.ADMIN)
READERS = (Role.MIS, Role.STAFF, Role.ADMIN, Role.SERVICE)


@router.put("", response_model=SchoolOut, tags=["schools"], summary="Create or update a school")
async def put_school(urn: URN, body: SchoolIn, session: SessionDep, actor: CurrentActor) -> SchoolOut:
    actor.require_role(Role.MIS, Role.ADMIN)
    actor.require_school(urn)
    return await schools.put_school(session, urn, body)


@router.post(
    "/pupils",
    status_code=status.HTTP_201_CREATED,
    response_model=PupilOut,
    tags=["pupils"],
    summary="Admit a pupil to the admission register",
)
async def admit_pupil(urn: URN, body: PupilIn, session: SessionDep, actor: CurrentActor) -> PupilOut:
    actor.require_role(*WRITERS)
    actor.require_school(urn)
    return await pupils.admit(session, urn, body)


@router.get("/pupils", response_model=PupilPage, tags=["pupils"], summary="The admission register, by UPN")
async def list_pupils(
    urn: URN,
    session: SessionDep,
    actor: CurrentActor,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> PupilPage:
    actor.require_role(*READERS)
    actor.require_school(urn)
    return await pupils.list_page(session, urn, cursor=cursor, limit=limit)


@router.get("/pupils/{upn}", response_model=PupilOut, tags=["pupils"], summary="One pupil's admission record")
async def get_pupil(urn: URN, upn: UPNPath, session: SessionDep, actor: CurrentActor) -> PupilOut:
    actor.require_role(*READERS)
    actor.require_school(urn)
    return await pupils.get(session, urn, upn)


@router.put(
    "/registers/{day}/{session_name}",
    response_model=RegisterResult,
    tags=["registers"],
    summary="Take a whole session register (atomic; resubmitting the same marks changes nothing)",
)
async def put_register(
    urn: URN,
    day: date,
    session_name: Session,
    body: RegisterIn,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
) -> RegisterResult:
    actor.require_role(*WRITERS)
    actor.require_school(urn)
    limit = request.app.state.settings.max_marks_per_register
    if len(body.marks) > limit:
        raise Unprocessable(f"a register holds at most {limit} marks; this one has {len(body.marks)}")
    return await registers.record_register(
        session, urn=urn, day=day, session_name=session_name, register=body, recorded_by=actor.subject
    )


@router.get(
    "/registers/{day}/{session_name}",
    response_model=RegisterOut,
    tags=["registers"],
    summary="A session register as it stands now",
)
async def get_register(
    urn: URN, day: date, session_name: Session, session: SessionDep, actor: CurrentActor
) -> RegisterOut:
    actor.require_role(*READERS)
    actor.require_school(urn)
    return await registers.read_register(session, urn=urn, day=day, session_name=session_name)


@router.patch(
    "/registers/{day}/{session_name}/marks/{upn}",
    response_model=MarkEntry,
    tags=["registers"],
    summary="Amend one mark; the original entry is kept",
)
async def amend_mark(
    urn: URN,
    day: date,
    session_name: Session,
    upn: UPNPath,
    body: AmendmentIn,
    session: SessionDep,
    actor: CurrentActor,
) -> MarkEntry:
    actor.require_role(*WRITERS)
    actor.require_school(urn)
    return await registers.amend_mark(
        session, urn=urn, day=day, session_name=session_name, upn=upn, amendment=body, amended_by=actor.subject
    )


@router.get(
    "/pupils/{upn}/marks", response_model=PupilMarks, tags=["registers"], summary="A pupil's marks with every amendment"
)
async def pupil_marks(
    urn: URN,
    upn: UPNPath,
    session: SessionDep,
    actor: CurrentActor,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> PupilMarks:
    actor.require_role(*READERS)
    actor.require_school(urn)
    return await registers.pupil_marks(session, urn=urn, upn=upn, start=start, end=end)
