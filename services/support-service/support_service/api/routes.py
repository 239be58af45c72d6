import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import LACodePath, UPNPath, UPNQuery, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import CSV_RESPONSE, AcceptHeader, csv_response, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from attendance_shared.events import RiskFlagType
from attendance_shared.idempotency import Once, once_per_key
from attendance_shared.rules.support import CaseStage
from support_service.models import idempotency_keys
from support_service.schemas import (
    AcceptIn,
    AgreementIn,
    CaseChangeIn,
    CaseIn,
    CaseOut,
    CasePage,
    CaseReadPage,
    CloseIn,
    ContactIn,
    ContactOut,
    ContactPage,
    DismissIn,
    ParentPlanView,
    PenaltyConsiderationOut,
    PenaltyConsiderationPage,
    PenaltyDecisionsIn,
    PlanChangeIn,
    PlanEndIn,
    PlanIn,
    PlanOut,
    PlanVersionOut,
    PupilCases,
    ReviewIn,
    StageChangeIn,
    SuggestionOut,
    SuggestionPage,
)
from support_service.service import cases, plans, suggestions

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES)
la_router = APIRouter(prefix="/v1/las/{la_code}", responses=PROBLEM_RESPONSES)

# School staff work their school's cases; an LA officer sees (and adds contacts to) those at
# the formal and enforcement stages or referred to the LA; a social worker their pupils'.
CaseWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
CaseReader = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
ChronologyWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]
PupilCaseReader = Annotated[
    Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.SOCIAL_WORKER, Role.ADMIN, scope=Scope.PUPIL)
]
# Who read a case is for the school's safeguarding lead and the platform's auditors.
ReadLogReader = Annotated[Actor, allow(Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
LAReader = Annotated[Actor, allow(Role.LA, Role.ADMIN, scope=Scope.LA)]
Idempotent = Annotated[Once, once_per_key(idempotency_keys)]
Cursor = Annotated[str | None, Query(max_length=80, description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=500)]
CaseStatus = Annotated[Literal["open", "closed"] | None, Query(alias="status")]
Overdue = Annotated[
    Literal["contact", "action", "review"] | None,
    Query(
        description="`contact`: open cases with no contact in the last N school days "
        "(SUPPORT_CONTACT_OVERDUE_SCHOOL_DAYS); `action`: an open action of the current plan past its due "
        "date; `review`: the current plan's review date has passed"
    ),
]
Lead = Annotated[str | None, Query(min_length=1, max_length=100, description="The lead practitioner (any case)")]
YearGroup = Annotated[str | None, Query(pattern=r"^(N1|N2|R|[1-9]|1[0-4])$")]


async def _cutoff(request: Request, session: SessionDep, urn: str) -> datetime | None:
    days = request.app.state.settings.contact_overdue_school_days
    return await cases.contact_cutoff(session, urn, today_in_england(), days)


@router.post(
    "/support-cases",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
    tags=["support cases"],
    summary="Open a support case for a pupil on roll (at most one open per pupil); honours Idempotency-Key",
    responses={409: PROBLEM_RESPONSES[404] | {"description": "The pupil already has an open case"}},
)
async def open_case(urn: URNPath, body: CaseIn, session: SessionDep, actor: CaseWriter, once: Idempotent) -> Any:
    return await once(
        lambda: cases.open_case(session, urn, body, actor=actor, today=today_in_england()), status.HTTP_201_CREATED
    )


@router.get(
    "/support-cases",
    response_model=CasePage,
    responses=CSV_RESPONSE,
    tags=["support cases"],
    summary="The school's support cases, newest first, with filters; each listing is logged as a read",
)
async def list_cases(
    urn: URNPath,
    request: Request,
    session: SessionDep,
    actor: CaseReader,
    accept: AcceptHeader = None,
    status_filter: CaseStatus = "open",
    stage: CaseStage | None = None,
    lead: Lead = None,
    year_group: YearGroup = None,
    flag: RiskFlagType | None = None,
    upn: UPNQuery = None,
    overdue: Overdue = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    page = await cases.list_cases(
        session,
        actor=actor,
        urn=urn,
        status=status_filter,
        stage=stage,
        lead=lead,
        year_group=year_group,
        flag=flag,
        upn=upn,
        overdue=overdue,
        today=today_in_england(),
        cutoff=await _cutoff(request, session, urn),
        cursor=cursor,
        limit=limit,
    )
    return csv_response(page.items, f"support-cases-{urn}.csv") if wants_csv(accept) else page


@router.get(
    "/support-cases/{case_id}",
    response_model=CaseOut,
    tags=["support cases"],
    summary="One case with its stage history (the read is logged)",
)
async def get_case(
    urn: URNPath, case_id: uuid.UUID, request: Request, session: SessionDep, actor: CaseReader
) -> CaseOut:
    return await cases.get_case(session, urn, case_id, actor=actor, cutoff=await _cutoff(request, session, urn))


@router.patch(
    "/support-cases/{case_id}",
    response_model=CaseOut,
    tags=["support cases"],
    summary="Change the lead practitioner, barriers or professionals, or refer the case to the LA",
)
async def change_case(
    urn: URNPath, case_id: uuid.UUID, body: CaseChangeIn, session: SessionDep, actor: CaseWriter, once: Idempotent
) -> Any:
    return await once(lambda: cases.change_case(session, urn, case_id, body, actor=actor))


@router.post(
    "/support-cases/{case_id}/stage",
    response_model=CaseOut,
    tags=["support cases"],
    summary="Move the case along the continuum (either way), with the reason; every move is kept",
)
async def change_stage(
    urn: URNPath, case_id: uuid.UUID, body: StageChangeIn, session: SessionDep, actor: CaseWriter, once: Idempotent
) -> Any:
    return await once(lambda: cases.change_stage(session, urn, case_id, body, actor=actor))


@router.post(
    "/support-cases/{case_id}/close",
    response_model=CaseOut,
    tags=["support cases"],
    summary="Close the case with its outcome",
)
async def close_case(
    urn: URNPath, case_id: uuid.UUID, body: CloseIn, session: SessionDep, actor: CaseWriter, once: Idempotent
) -> Any:
    return await once(lambda: cases.close_case(session, urn, case_id, body, actor=actor))


@router.post(
    "/support-cases/{case_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContactOut,
    tags=["support cases"],
    summary="Add an entry to the chronology (immutable: a correction is a new entry naming the one it corrects)",
)
async def add_contact(
    urn: URNPath, case_id: uuid.UUID, body: ContactIn, session: SessionDep, actor: ChronologyWriter, once: Idempotent
) -> Any:
    return await once(lambda: cases.add_contact(session, urn, case_id, body, actor=actor), status.HTTP_201_CREATED)


@router.get(
    "/support-cases/{case_id}/contacts",
    response_model=ContactPage,
    responses=CSV_RESPONSE,
    tags=["support cases"],
    summary="The case's chronology in the order things happened (the read is logged)",
)
async def list_contacts(
    urn: URNPath,
    case_id: uuid.UUID,
    session: SessionDep,
    actor: CaseReader,
    accept: AcceptHeader = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    page = await cases.list_contacts(session, urn, case_id, actor=actor, cursor=cursor, limit=limit)
    return csv_response(page.items, f"chronology-{case_id}.csv") if wants_csv(accept) else page


@router.get(
    "/support-cases/{case_id}/reads",
    response_model=CaseReadPage,
    tags=["support cases"],
    summary="Who read the case and when, newest first",
)
async def list_reads(
    urn: URNPath,
    case_id: uuid.UUID,
    session: SessionDep,
    actor: ReadLogReader,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> CaseReadPage:
    return await cases.list_reads(session, urn, case_id, actor=actor, cursor=cursor, limit=limit)


@router.get(
    "/pupils/{upn}/support-cases",
    response_model=PupilCases,
    tags=["support cases"],
    summary="A pupil's support cases, open and closed, for staff, the LA and the pupil's social worker",
)
async def pupil_cases(
    urn: URNPath, upn: UPNPath, request: Request, session: SessionDep, actor: PupilCaseReader
) -> PupilCases:
    return await cases.pupil_cases(session, urn, upn, actor=actor, cutoff=await _cutoff(request, session, urn))


PlanWriter = CaseWriter
PlanPath = Annotated[uuid.UUID, Path(description="The plan's id")]
ParentPlanReader = Annotated[
    Actor, allow(Role.PARENT, Role.SOCIAL_WORKER, Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.PUPIL)
]


@router.post(
    "/support-cases/{case_id}/plans",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    tags=["support plans"],
    summary="Start the case's support plan: target, actions, review date (default: 6 school weeks on)",
)
async def create_plan(
    urn: URNPath, case_id: uuid.UUID, body: PlanIn, session: SessionDep, actor: PlanWriter, once: Idempotent
) -> Any:
    return await once(
        lambda: plans.create_plan(session, urn, case_id, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/support-cases/{case_id}/plans",
    response_model=list[PlanOut],
    tags=["support plans"],
    summary="The case's plans, the active one last (the read is logged)",
)
async def list_plans(urn: URNPath, case_id: uuid.UUID, session: SessionDep, actor: CaseReader) -> list[PlanOut]:
    return await plans.list_plans(session, urn, case_id, actor=actor, today=today_in_england())


@router.get(
    "/support-cases/{case_id}/plans/{plan_id}",
    response_model=PlanOut,
    tags=["support plans"],
    summary="One plan as it stands (the read is logged)",
)
async def get_plan(
    urn: URNPath, case_id: uuid.UUID, plan_id: PlanPath, session: SessionDep, actor: CaseReader
) -> PlanOut:
    return await plans.get_plan(session, urn, case_id, plan_id, actor=actor, today=today_in_england())


@router.get(
    "/support-cases/{case_id}/plans/{plan_id}/versions",
    response_model=list[PlanVersionOut],
    tags=["support plans"],
    summary="Every version of the plan: what changed, who and when",
)
async def plan_versions(
    urn: URNPath, case_id: uuid.UUID, plan_id: PlanPath, session: SessionDep, actor: CaseReader
) -> list[PlanVersionOut]:
    return await plans.versions(session, urn, case_id, plan_id, actor=actor)


@router.patch(
    "/support-cases/{case_id}/plans/{plan_id}",
    response_model=PlanOut,
    tags=["support plans"],
    summary="Change the target or review date, add actions, or change an action's status, due date or owner",
)
async def change_plan(
    urn: URNPath,
    case_id: uuid.UUID,
    plan_id: PlanPath,
    body: PlanChangeIn,
    session: SessionDep,
    actor: PlanWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: plans.change_plan(session, urn, case_id, plan_id, body, actor=actor, today=today_in_england())
    )


@router.post(
    "/support-cases/{case_id}/plans/{plan_id}/agreement",
    response_model=PlanOut,
    tags=["support plans"],
    summary="Record the parent's agreement to the plan (publishes SupportPlanAgreedV1)",
)
async def agree_plan(
    urn: URNPath,
    case_id: uuid.UUID,
    plan_id: PlanPath,
    body: AgreementIn,
    session: SessionDep,
    actor: PlanWriter,
    once: Idempotent,
) -> Any:
    return await once(lambda: plans.agree(session, urn, case_id, plan_id, body, actor=actor, today=today_in_england()))


@router.post(
    "/support-cases/{case_id}/plans/{plan_id}/reviews",
    response_model=PlanOut,
    tags=["support plans"],
    summary="Record a review with its notes; the next review defaults to 6 school weeks on",
)
async def review_plan(
    urn: URNPath,
    case_id: uuid.UUID,
    plan_id: PlanPath,
    body: ReviewIn,
    session: SessionDep,
    actor: PlanWriter,
    once: Idempotent,
) -> Any:
    return await once(lambda: plans.review(session, urn, case_id, plan_id, body, actor=actor, today=today_in_england()))


@router.post(
    "/support-cases/{case_id}/plans/{plan_id}/end",
    response_model=PlanOut,
    tags=["support plans"],
    summary="End the plan, with the reason",
)
async def end_plan(
    urn: URNPath,
    case_id: uuid.UUID,
    plan_id: PlanPath,
    body: PlanEndIn,
    session: SessionDep,
    actor: PlanWriter,
    once: Idempotent,
) -> Any:
    return await once(lambda: plans.end(session, urn, case_id, plan_id, body, actor=actor, today=today_in_england()))


@router.get(
    "/pupils/{upn}/support-plan",
    response_model=ParentPlanView,
    tags=["support plans"],
    summary="The pupil's current support plan as the family sees it: target, actions, review date; no notes",
)
async def parent_plan(urn: URNPath, upn: UPNPath, session: SessionDep, actor: ParentPlanReader) -> ParentPlanView:
    return await plans.parent_plan(session, urn, upn, actor=actor)


@router.get(
    "/support-suggestions",
    response_model=SuggestionPage,
    responses=CSV_RESPONSE,
    tags=["suggested cases"],
    summary="Cases suggested by risk flags, for staff to accept or dismiss (pending by default)",
)
async def list_suggestions(
    urn: URNPath,
    session: SessionDep,
    actor: CaseWriter,
    accept: AcceptHeader = None,
    status_filter: Annotated[Literal["pending", "accepted", "dismissed"] | None, Query(alias="status")] = "pending",
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    page = await suggestions.list_suggestions(session, urn, status=status_filter, cursor=cursor, limit=limit)
    return csv_response(page.items, f"support-suggestions-{urn}.csv") if wants_csv(accept) else page


@router.post(
    "/support-suggestions/{suggestion_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
    tags=["suggested cases"],
    summary="Open the suggested case",
)
async def accept_suggestion(
    urn: URNPath, suggestion_id: uuid.UUID, body: AcceptIn, session: SessionDep, actor: CaseWriter, once: Idempotent
) -> Any:
    return await once(
        lambda: suggestions.accept(session, urn, suggestion_id, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.post(
    "/support-suggestions/{suggestion_id}/dismiss",
    response_model=SuggestionOut,
    tags=["suggested cases"],
    summary="Dismiss the suggestion with the reason; the same flags do not suggest again this academic year",
)
async def dismiss_suggestion(
    urn: URNPath, suggestion_id: uuid.UUID, body: DismissIn, session: SessionDep, actor: CaseWriter, once: Idempotent
) -> Any:
    return await once(lambda: suggestions.dismiss(session, urn, suggestion_id, body, actor=actor))


@router.get(
    "/penalty-considerations",
    response_model=PenaltyConsiderationPage,
    responses=CSV_RESPONSE,
    tags=["penalty notices"],
    summary="Pupils for whom a penalty notice must be considered (pending until decided, whatever the flag does)",
)
async def list_considerations(
    urn: URNPath,
    session: SessionDep,
    actor: CaseReader,
    accept: AcceptHeader = None,
    status_filter: Annotated[Literal["pending", "decided"] | None, Query(alias="status")] = "pending",
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    page = await suggestions.list_considerations(session, urn, status=status_filter, cursor=cursor, limit=limit)
    return csv_response(page.items, f"penalty-considerations-{urn}.csv") if wants_csv(accept) else page


@router.post(
    "/penalty-considerations/{consideration_id}/decision",
    response_model=PenaltyConsiderationOut,
    tags=["penalty notices"],
    summary="Decide, for each parent of the child, whether a penalty notice is issued (a reason if not)",
)
async def decide_consideration(
    urn: URNPath,
    consideration_id: uuid.UUID,
    body: PenaltyDecisionsIn,
    session: SessionDep,
    actor: CaseWriter,
    once: Idempotent,
) -> Any:
    return await once(lambda: suggestions.decide_consideration(session, urn, consideration_id, body, actor=actor))


@la_router.get(
    "/support-cases",
    response_model=CasePage,
    responses=CSV_RESPONSE,
    tags=["support cases"],
    summary="The cases of the LA's schools at the formal and enforcement stages or referred to the LA",
)
async def la_cases(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAReader,
    accept: AcceptHeader = None,
    status_filter: CaseStatus = "open",
    stage: CaseStage | None = None,
    year_group: YearGroup = None,
    flag: RiskFlagType | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Any:
    page = await cases.list_cases(
        session,
        actor=actor,
        la_code=la_code,
        status=status_filter,
        stage=stage,
        lead=None,
        year_group=year_group,
        flag=flag,
        upn=None,
        overdue=None,
        today=today_in_england(),
        cutoff=None,
        cursor=cursor,
        limit=limit,
    )
    return csv_response(page.items, f"support-cases-la-{la_code}.csv") if wants_csv(accept) else page
