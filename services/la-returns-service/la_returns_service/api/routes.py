import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import LACodePath, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import CSV_MEDIA_TYPE, CSV_RESPONSE, AcceptHeader, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from attendance_shared.idempotency import Once, once_per_key
from la_returns_service.models import idempotency_keys
from la_returns_service.repository import store
from la_returns_service.schemas import (
    LASettings,
    LASettingsIn,
    ReturnDocument,
    ReturnKind,
    ReturnPage,
    ReturnRequest,
    ReturnSummary,
    Schedule,
    SchoolReturnDocument,
)
from la_returns_service.service import returns
from la_returns_service.service import settings as la_settings

router = APIRouter(prefix="/v1/las/{la_code}", responses=PROBLEM_RESPONSES, tags=["returns"])
school_router = APIRouter(prefix="/v1/schools/{urn}/returns", responses=PROBLEM_RESPONSES, tags=["returns"])
LAOfficer = Annotated[Actor, allow(Role.LA, Role.ADMIN, scope=Scope.LA)]
SchoolReader = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
Idempotent = Annotated[Once, once_per_key(idempotency_keys)]
CursorQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="`next_cursor` of the last listing"),
]
SinceQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_=-]+$",
        description="The same as `cursor`: returns compiled after the one it names, for polling",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500)]
Accept = AcceptHeader


@dataclass(frozen=True)
class Listing:
    """A listing's filter and place: `since` and `cursor` are one thing under two names."""

    kind: ReturnKind | None
    cursor: str | None
    cursor_name: str
    limit: int


def _listing(
    kind: ReturnKind | None = None, cursor: CursorQuery = None, since: SinceQuery = None, limit: Limit = 100
) -> Listing:
    if cursor and since:
        raise Unprocessable(
            "give `cursor` or `since`, not both",
            errors=[{"location": ["query", "since"], "message": "`cursor` is given too", "type": "value_error"}],
        )
    if since:
        return Listing(kind, since, "since", limit)
    return Listing(kind, cursor, "cursor", limit)


ListingQuery = Annotated[Listing, Depends(_listing)]


def _csv(summary: ReturnSummary, request: Request, name: str, school_urn: str | None = None) -> StreamingResponse:
    return StreamingResponse(
        returns.stream_csv(request.app.state.sessionmaker, summary, school_urn),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "X-Checksum": summary.checksum},
    )


def _json(summary: ReturnSummary, request: Request, school_urn: str | None = None) -> StreamingResponse:
    """`ReturnDocument` (or `SchoolReturnDocument`), streamed: an LA's return can be 100,000 rows."""
    document = summary.model_dump(mode="json", by_alias=True)
    if school_urn is not None:
        document["school_urn"] = school_urn
    return StreamingResponse(
        returns.stream_json(request.app.state.sessionmaker, document, summary.id, school_urn),
        media_type="application/json",
        headers={"X-Checksum": summary.checksum},
    )


@router.post(
    "/returns",
    status_code=status.HTTP_201_CREATED,
    response_model=ReturnSummary,
    response_model_by_alias=True,
    summary="Compile a return now (an immutable snapshot); honours Idempotency-Key",
    responses={503: PROBLEM_RESPONSES[404] | {"description": "The analytics service is unavailable; try again"}},
)
async def compile_return(
    la_code: LACodePath, body: ReturnRequest, request: Request, session: SessionDep, actor: LAOfficer, once: Idempotent
) -> ReturnSummary:
    settings = request.app.state.settings
    return await once(
        lambda: returns.compile_return(
            session,
            request.app.state.analytics,
            la_code=la_code,
            kind=body.kind,
            start=body.start,
            end=body.end,
            today=today_in_england(),
            concurrency=settings.analytics_concurrency,
        ),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/returns",
    response_model=ReturnPage,
    response_model_by_alias=True,
    summary="Returns compiled for the LA, oldest first; poll with `since` (or `cursor`) for new ones",
)
async def list_returns(la_code: LACodePath, session: SessionDep, actor: LAOfficer, listing: ListingQuery) -> ReturnPage:
    return await returns.list_returns(
        session, la_code, kind=listing.kind, cursor=listing.cursor, cursor_name=listing.cursor_name, limit=listing.limit
    )


@router.get(
    "/returns/{return_id}",
    response_model=ReturnDocument,
    response_model_by_alias=True,
    responses=CSV_RESPONSE,
    summary="One return with its rows, streamed as JSON or, with `Accept: text/csv`, as CSV",
)
async def get_return(
    la_code: LACodePath,
    return_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: LAOfficer,
    accept: Accept = None,
) -> StreamingResponse:
    summary = await returns.get_summary(session, la_code, return_id)
    if wants_csv(accept):
        return _csv(summary, request, f"{summary.kind}-{la_code}-{summary.start}-{summary.end}")
    return _json(summary, request)


@router.get("/settings", response_model=LASettings, summary="The LA's return settings")
async def get_settings(la_code: LACodePath, session: SessionDep, actor: LAOfficer) -> LASettings:
    return await la_settings.get_la_settings(session, la_code)


@router.put("/settings", response_model=LASettings, summary="Set the LA's return settings")
async def put_settings(la_code: LACodePath, body: LASettingsIn, session: SessionDep, actor: LAOfficer) -> LASettings:
    return await la_settings.put_la_settings(session, la_code, body)


@router.get("/schedule", response_model=Schedule, summary="Which returns compile by themselves, how often")
async def get_schedule(la_code: LACodePath, session: SessionDep, actor: LAOfficer) -> Schedule:
    return await la_settings.get_schedule(session, la_code)


@router.put("/schedule", response_model=Schedule, summary="Replace the LA's schedule of returns")
async def put_schedule(la_code: LACodePath, body: Schedule, session: SessionDep, actor: LAOfficer) -> Schedule:
    return await la_settings.put_schedule(session, la_code, body)


async def _la_of(session: SessionDep, urn: str) -> str:
    la_code = await store.school_la_code(session, urn)
    if la_code is None:
        raise NotFound(f"school {urn} not found")
    return la_code


@school_router.get(
    "", response_model=ReturnPage, response_model_by_alias=True, summary="Returns of the school's LA holding its rows"
)
async def list_school_returns(
    urn: URNPath, session: SessionDep, actor: SchoolReader, listing: ListingQuery
) -> ReturnPage:
    return await returns.list_returns(
        session,
        await _la_of(session, urn),
        kind=listing.kind,
        cursor=listing.cursor,
        cursor_name=listing.cursor_name,
        limit=listing.limit,
        school_urn=urn,
    )


@school_router.get(
    "/{return_id}",
    response_model=SchoolReturnDocument,
    response_model_by_alias=True,
    responses=CSV_RESPONSE,
    summary="The school's rows of one return, streamed as JSON or, with `Accept: text/csv`, as CSV",
)
async def get_school_return(
    urn: URNPath,
    return_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: SchoolReader,
    accept: Accept = None,
) -> StreamingResponse:
    summary = await returns.get_school_summary(session, await store.school_la_code(session, urn), urn, return_id)
    if wants_csv(accept):
        return _csv(summary, request, f"{summary.kind}-{urn}-{summary.start}-{summary.end}", school_urn=urn)
    return _json(summary, request, school_urn=urn)
