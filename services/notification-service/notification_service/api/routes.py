from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import UPNCursor, UPNPath, UPNQuery, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from attendance_shared.idempotency import Once, once_per_key
from attendance_shared.rules.languages import ENGLISH, LanguageCode
from notification_service.domain.policy import SchoolNotificationSettings
from notification_service.domain.templates import TemplateKey
from notification_service.models import idempotency_keys
from notification_service.repository import store
from notification_service.schemas import (
    ContactPreferencesIn,
    ContactPreferencesOut,
    MessageDetail,
    MessageOut,
    MessagePage,
    MessageStatus,
    ResendIn,
    TemplateIn,
    TemplateList,
    TemplateOut,
    UncontactableOut,
    UncontactablePage,
)
from notification_service.service import staff
from notification_service.service.clock import utc_now

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["notifications"])

SchoolReader = Annotated[Actor, allow(Role.STAFF, Role.MIS, Role.ADMIN, scope=Scope.SCHOOL)]
SchoolConfigurer = Annotated[Actor, allow(Role.STAFF, Role.MIS, Role.ADMIN, scope=Scope.SCHOOL)]
Resender = Annotated[Actor, allow(Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
# A parent sets their own contact preferences; staff may record them on the parent's behalf.
PreferenceOwner = Annotated[Actor, allow(Role.PARENT, Role.STAFF, Role.MIS, Role.ADMIN, scope=Scope.PUPIL)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Idempotent = Annotated[Once, once_per_key(idempotency_keys)]


@router.get("/notifications", response_model=MessagePage, summary="Messages about a school's pupils, oldest first")
async def notifications(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    upn: UPNQuery = None,
    status: MessageStatus | None = None,
    rule: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z-]+$", description="Only this rule")] = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**62, description="`next_cursor` of the previous page")] = None,
    limit: Limit = 200,
) -> MessagePage:
    rows = await store.page(session, urn, upn=upn, status=status, rule=rule, after_id=cursor, limit=limit + 1)
    items = [MessageOut.model_validate(r._asdict()) for r in rows[:limit]]
    return MessagePage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.get(
    "/notifications/{message_id}",
    response_model=MessageDetail,
    summary="One message: its recipient, text and every delivery attempt",
)
async def notification(
    urn: URNPath,
    message_id: Annotated[int, Path(ge=1, le=2**62, description="`id` of a message of this school")],
    session: SessionDep,
    actor: SchoolReader,
) -> MessageDetail:
    return await staff.message_detail(session, urn, message_id)


@router.post(
    "/notifications/resend",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    summary="Send a message again, to the recipient's current address (after a contact was fixed, say)",
    responses={409: PROBLEM_RESPONSES[422] | {"description": "Still waiting to be sent, or no usable address"}},
)
async def resend(urn: URNPath, body: ResendIn, session: SessionDep, actor: Resender, once: Idempotent) -> Any:
    return await once(lambda: staff.resend(session, urn, body.message_id, utc_now()), status.HTTP_201_CREATED)


@router.get(
    "/uncontactable-pupils",
    response_model=UncontactablePage,
    summary="Pupils whose latest message to a parent, worker or lead could not be delivered, and why",
)
async def uncontactable(
    urn: URNPath, session: SessionDep, actor: SchoolReader, cursor: UPNCursor = None, limit: Limit = 200
) -> UncontactablePage:
    rows = await store.uncontactable(session, urn, after_upn=cursor, limit=limit + 1)
    pupils = sorted({r.upn for r in rows})
    more = len(pupils) > limit
    shown = set(pupils[:limit])
    items = [
        UncontactableOut.model_validate(r._asdict() | {"reason": r.failure_reason, "message_id": r.id})
        for r in rows
        if r.upn in shown
    ]
    return UncontactablePage(items=items, next_cursor=pupils[limit - 1] if more else None)


@router.get(
    "/pupils/{upn}/contact-preferences",
    response_model=ContactPreferencesOut,
    summary="How each of the pupil's contacts wants to be reached",
)
async def get_preferences(
    urn: URNPath, upn: UPNPath, session: SessionDep, actor: PreferenceOwner
) -> ContactPreferencesOut:
    return await staff.get_preferences(session, urn, upn)


@router.put(
    "/pupils/{upn}/contact-preferences",
    response_model=ContactPreferencesOut,
    summary="Set each contact's channel and opt-out (replaces the pupil's preferences)",
)
async def put_preferences(
    urn: URNPath,
    upn: UPNPath,
    body: ContactPreferencesIn,
    session: SessionDep,
    actor: PreferenceOwner,
    once: Idempotent,
) -> Any:
    return await once(lambda: staff.put_preferences(session, urn, upn, body))


@router.get("/notification-templates", response_model=TemplateList, summary="The school's message templates")
async def list_templates(urn: URNPath, session: SessionDep, actor: SchoolReader) -> TemplateList:
    return await staff.list_templates(session, urn)


@router.put(
    "/notification-templates",
    response_model=TemplateOut,
    summary="Use the school's own wording for a message; placeholders are written {name}",
)
async def put_template(
    urn: URNPath, body: TemplateIn, session: SessionDep, actor: SchoolConfigurer, once: Idempotent
) -> Any:
    return await once(lambda: staff.put_template(session, urn, body.template, body))


@router.delete("/notification-templates", response_model=TemplateOut, summary="Go back to the built-in wording")
async def reset_template(
    urn: URNPath,
    template: Annotated[TemplateKey, Query(description="The template to reset")],
    session: SessionDep,
    actor: SchoolConfigurer,
    language: Annotated[LanguageCode, Query(description="The version to remove (en: back to the built-in)")] = ENGLISH,
) -> TemplateOut:
    return await staff.reset_template(session, urn, template, language)


@router.get(
    "/notification-settings",
    response_model=SchoolNotificationSettings,
    summary="Which rules are on, their school-day counts, the attendance lead and the sender identity",
)
async def get_settings(urn: URNPath, session: SessionDep, actor: SchoolReader) -> SchoolNotificationSettings:
    return await store.school_settings_of(session, urn)


@router.put("/notification-settings", response_model=SchoolNotificationSettings, summary="Set them, whole")
async def put_settings(
    urn: URNPath, body: SchoolNotificationSettings, session: SessionDep, actor: SchoolConfigurer, once: Idempotent
) -> Any:
    return await once(lambda: staff.put_settings(session, urn, body))
