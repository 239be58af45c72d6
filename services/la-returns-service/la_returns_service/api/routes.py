import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import StreamingResponse

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import LACodePath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from la_returns_service.schemas import ReturnDocument, ReturnKind, ReturnPage, ReturnRequest, ReturnSummary
from la_returns_service.service import returns

router = APIRouter(prefix="/v1/las/{la_code}/returns", responses=PROBLEM_RESPONSES, tags=["returns"])
LAOfficer = Annotated[Actor, allow(Role.LA, Role.ADMIN, scope=Scope.LA)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReturnSummary,
    response_model_by_alias=True,
    summary="Compile a return now (an immutable snapshot)",
)
async def compile_return(
    la_code: LACodePath, body: ReturnRequest, request: Request, session: SessionDep, actor: LAOfficer
) -> ReturnSummary:
    return await returns.compile_return(
        session, request.app.state.analytics, la_code=la_code, request=body, today=today_in_england()
    )


@router.get(
    "",
    response_model=ReturnPage,
    response_model_by_alias=True,
    summary="Returns compiled for the LA, oldest first; poll with the cursor for new ones",
)
async def list_returns(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAOfficer,
    kind: ReturnKind | None = None,
    cursor: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="`next_cursor` of the last page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReturnPage:
    return await returns.list_returns(session, la_code, kind=kind, cursor=cursor, limit=limit)


@router.get(
    "/{return_id}",
    response_model=ReturnDocument,
    response_model_by_alias=True,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `Accept: text/csv`"}},
    summary="One return with its rows",
)
async def get_return(
    la_code: LACodePath,
    return_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: LAOfficer,
    accept: Annotated[str | None, Header()] = None,
) -> ReturnDocument | StreamingResponse:
    summary = await returns.get_summary(session, la_code, return_id)
    if accept and "text/csv" in accept:
        filename = f"{summary.kind}-{la_code}-{summary.start}-{summary.end}.csv"
        return StreamingResponse(
            returns.stream_csv(request.app.state.sessionmaker, summary),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Checksum": summary.checksum},
        )
    return ReturnDocument(**summary.model_dump(), rows=await returns.rows_of(session, return_id))
