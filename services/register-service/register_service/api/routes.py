"""Routers only: parse, authorise, call a service, shape the response."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import IsoDate, UPNCursor, UPNPath, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, Unprocessable
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
# Who may call what (see attendance_shared.access). A school's own people write its
# registers; its LA reads them; a parent or social worker reads only the children they hold.
SchoolOwner = Annotated[Actor, allow(Role.MIS, Role.ADMIN, scope=Scope.SCHOOL)]
SchoolWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
SchoolReader = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
PupilWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.PUPIL)]
PupilReader = Annotated[
    Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, Role.PARENT, Role.SOCIAL_WORKER, scope=Scope.PUPIL)
]


@router.put("", response_model=SchoolOut, tags=["schools"], summary="Create or update a school")
async def put_school(urn: URNPath, body: SchoolIn, session: SessionDep, actor: SchoolOwner) -> SchoolOut:
    return await schools.put_school(session, urn, body)


@router.post(
    "/pupils",
    status_code=status.HTTP_201_CREATED,
    response_model=PupilOut,
    tags=["pupils"],
    summary="Admit a pupil to the admission register",
)
async def admit_pupil(urn: URNPath, body: PupilIn, session: SessionDep, actor: SchoolWriter) -> PupilOut:
    return await pupils.admit(session, urn, body)


@router.get("/pupils", response_model=PupilPage, tags=["pupils"], summary="The admission register, by UPN")
async def list_pupils(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> PupilPage:
    return await pupils.list_page(session, urn, cursor=cursor, limit=limit)


@router.get("/pupils/{upn}", response_model=PupilOut, tags=["pupils"], summary="One pupil's admission record")
async def get_pupil(urn: URNPath, upn: UPNPath, session: SessionDep, actor: PupilReader) -> PupilOut:
    return await pupils.get(session, urn, upn)


@router.put(
    "/registers/{day}/{session_name}",
    response_model=RegisterResult,
    tags=["registers"],
    summary="Take a whole session register (atomic; resubmitting the same marks changes nothing)",
)
async def put_register(
    urn: URNPath,
    day: IsoDate,
    session_name: Session,
    body: RegisterIn,
    request: Request,
    session: SessionDep,
    actor: SchoolWriter,
) -> RegisterResult:
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
    urn: URNPath, day: IsoDate, session_name: Session, session: SessionDep, actor: SchoolReader
) -> RegisterOut:
    return await registers.read_register(session, urn=urn, day=day, session_name=session_name)


@router.patch(
    "/registers/{day}/{session_name}/marks/{upn}",
    response_model=MarkEntry,
    tags=["registers"],
    summary="Amend one mark; the original entry is kept",
)
async def amend_mark(
    urn: URNPath,
    day: IsoDate,
    session_name: Session,
    upn: UPNPath,
    body: AmendmentIn,
    session: SessionDep,
    actor: PupilWriter,
) -> MarkEntry:
    return await registers.amend_mark(
        session, urn=urn, day=day, session_name=session_name, upn=upn, amendment=body, amended_by=actor.subject
    )


@router.get(
    "/pupils/{upn}/marks", response_model=PupilMarks, tags=["registers"], summary="A pupil's marks with every amendment"
)
async def pupil_marks(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> PupilMarks:
    return await registers.pupil_marks(session, urn=urn, upn=upn, start=start, end=end)
