from typing import Annotated

from fastapi import APIRouter, Query

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import UPNQuery, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from notification_service.repository import store
from notification_service.schemas import MessageOut, MessagePage, MessageStatus

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["notifications"])


@router.get("/notifications", response_model=MessagePage, summary="Messages about a school's pupils, oldest first")
async def notifications(
    urn: URNPath,
    session: SessionDep,
    actor: Annotated[Actor, allow(Role.STAFF, Role.MIS, Role.ADMIN, scope=Scope.SCHOOL)],
    upn: UPNQuery = None,
    status: MessageStatus | None = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**62, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> MessagePage:
    rows = await store.page(session, urn, upn=upn, status=status, after_id=cursor, limit=limit + 1)
    items = [MessageOut.model_validate(r._asdict()) for r in rows[:limit]]
    return MessagePage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)
