import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import IsoDate, LACodePath, UPNPath, UPNQuery, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import CSV_RESPONSE, AcceptHeader, csv_response, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES
from attendance_shared.events import RiskFlagType
from attendance_shared.idempotency import Once, once_per_key
from attendance_shared.rules.codes import UNAUTHORISED_ABSENCE_CODES
from attendance_shared.rules.figures import academic_year_of, academic_year_start
from attendance_shared.rules.support import CaseStage
from support_service.documents import evidence_pdf
from support_service.domain.impact import METHOD
from support_service.models import idempotency_keys
from support_service.schemas import (
    AcceptIn,
    AgreementIn,
    CaseBriefPage,
    CaseChangeIn,
    CaseIn,
    CaseOut,
    CasePage,
    CaseReadPage,
    CloseIn,
    ContactIn,
    ContactOut,
    ContactPage,
    ContractEndIn,
    ContractIn,
    ContractOut,
    DismissIn,
    ImpactReport,
    LASupportSettings,
    MeetingIn,
    MeetingOut,
    NoticeToImproveIn,
    NoticeToImproveOut,
    ParentPlanView,
    PenaltyConsiderationOut,
    PenaltyConsiderationPage,
    PenaltyDecisionsIn,
    PenaltyNoticeIn,
    PenaltyNoticeOut,
    PenaltyOutcomeIn,
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
    SupervisionOrderChangeIn,
    SupervisionOrderIn,
    SupervisionOrderOut,
)
from support_service.service import cases, evidence, impact, legal, plans, suggestions

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES)
PDF_MEDIA_TYPE = "application/pdf"
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


# The LA's Targeting Support Meeting pack (compiled by la-returns-service) reads these.
BriefReader = Annotated[Actor, allow(Role.STAFF, Role.LA, Role.ADMIN, Role.SERVICE, scope=Scope.SCHOOL)]


@router.get(
    "/support-case-summaries",
    response_model=CaseBriefPage,
    tags=["support cases"],
    summary="Each open case as a Targeting Support Meeting pack tells it: stage, lead, barriers, last contact, "
    "agreed actions (no notes); each listing is logged as a read",
)
async def case_summaries(
    urn: URNPath,
    session: SessionDep,
    actor: BriefReader,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> CaseBriefPage:
    return await cases.case_briefs(session, urn, actor=actor, cursor=cursor, limit=limit)


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


@router.post(
    "/support-cases/{case_id}/meetings",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingOut,
    tags=["support cases"],
    summary="Arrange a meeting with the parents: each parent with parental responsibility is sent an invitation",
)
async def arrange_meeting(
    urn: URNPath, case_id: uuid.UUID, body: MeetingIn, session: SessionDep, actor: CaseWriter, once: Idempotent
) -> Any:
    return await once(
        lambda: cases.arrange_meeting(session, urn, case_id, body, actor=actor, now=datetime.now(UTC)),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/support-cases/{case_id}/meetings",
    response_model=list[MeetingOut],
    tags=["support cases"],
    summary="The meetings arranged on the case, soonest first",
)
async def list_meetings(urn: URNPath, case_id: uuid.UUID, session: SessionDep, actor: CaseReader) -> list[MeetingOut]:
    return await cases.meetings(session, urn, case_id, actor=actor)


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


# The LA issues notices and may lead at the formal stages: it writes these on the cases it sees.
LegalWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.LA, Role.ADMIN, scope=Scope.SCHOOL)]


@router.post(
    "/support-cases/{case_id}/attendance-contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractOut,
    tags=["formal and legal stages"],
    summary="Record an attendance contract agreed with the parents (review by default 6 school weeks on)",
)
async def add_contract(
    urn: URNPath, case_id: uuid.UUID, body: ContractIn, session: SessionDep, actor: LegalWriter, once: Idempotent
) -> Any:
    return await once(
        lambda: legal.add_contract(session, urn, case_id, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/support-cases/{case_id}/attendance-contracts",
    response_model=list[ContractOut],
    tags=["formal and legal stages"],
    summary="The case's attendance contracts (the read is logged)",
)
async def list_contracts(urn: URNPath, case_id: uuid.UUID, session: SessionDep, actor: CaseReader) -> list[ContractOut]:
    return await legal.contracts(session, urn, case_id, actor=actor)


@router.post(
    "/support-cases/{case_id}/attendance-contracts/{contract_id}/end",
    response_model=ContractOut,
    tags=["formal and legal stages"],
    summary="End an attendance contract with its outcome",
)
async def end_contract(
    urn: URNPath,
    case_id: uuid.UUID,
    contract_id: uuid.UUID,
    body: ContractEndIn,
    session: SessionDep,
    actor: LegalWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: legal.end_contract(session, urn, case_id, contract_id, body, actor=actor, today=today_in_england())
    )


@router.post(
    "/support-cases/{case_id}/supervision-orders",
    status_code=status.HTTP_201_CREATED,
    response_model=SupervisionOrderOut,
    tags=["formal and legal stages"],
    summary="Record an education supervision order (in force a year from when it was made)",
)
async def add_order(
    urn: URNPath,
    case_id: uuid.UUID,
    body: SupervisionOrderIn,
    session: SessionDep,
    actor: LegalWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: legal.add_order(session, urn, case_id, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/support-cases/{case_id}/supervision-orders",
    response_model=list[SupervisionOrderOut],
    tags=["formal and legal stages"],
    summary="The case's education supervision orders (the read is logged)",
)
async def list_orders(
    urn: URNPath, case_id: uuid.UUID, session: SessionDep, actor: CaseReader
) -> list[SupervisionOrderOut]:
    return await legal.orders(session, urn, case_id, actor=actor, today=today_in_england())


@router.patch(
    "/support-cases/{case_id}/supervision-orders/{order_id}",
    response_model=SupervisionOrderOut,
    tags=["formal and legal stages"],
    summary="Extend an order (to at most 3 years from when it was made) or record its discharge",
)
async def change_order(
    urn: URNPath,
    case_id: uuid.UUID,
    order_id: uuid.UUID,
    body: SupervisionOrderChangeIn,
    session: SessionDep,
    actor: LegalWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: legal.change_order(session, urn, case_id, order_id, body, actor=actor, today=today_in_england())
    )


@router.post(
    "/support-cases/{case_id}/notices-to-improve",
    status_code=status.HTTP_201_CREATED,
    response_model=NoticeToImproveOut,
    tags=["formal and legal stages"],
    summary="Issue a Notice to Improve: an improvement period within the LA's bounds, checked every school day",
)
async def issue_notice(
    urn: URNPath, case_id: uuid.UUID, body: NoticeToImproveIn, session: SessionDep, actor: LegalWriter, once: Idempotent
) -> Any:
    return await once(
        lambda: legal.issue_notice(session, urn, case_id, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/support-cases/{case_id}/notices-to-improve",
    response_model=list[NoticeToImproveOut],
    tags=["formal and legal stages"],
    summary="The case's Notices to Improve with every day's check: met, not met, and why (the read is logged)",
)
async def list_notices(
    urn: URNPath, case_id: uuid.UUID, session: SessionDep, actor: CaseReader
) -> list[NoticeToImproveOut]:
    return await legal.notices(session, urn, case_id, actor=actor)


@router.post(
    "/support-cases/{case_id}/penalty-notices",
    status_code=status.HTTP_201_CREATED,
    response_model=PenaltyNoticeOut,
    tags=["penalty notices"],
    summary="Issue a penalty notice to one parent: the framework's 3-year limit, amounts and sessions are checked",
    responses={503: PROBLEM_RESPONSES[503] | {"description": "The register is unavailable; try again"}},
)
async def issue_penalty(
    urn: URNPath,
    case_id: uuid.UUID,
    body: PenaltyNoticeIn,
    request: Request,
    session: SessionDep,
    actor: LegalWriter,
    once: Idempotent,
) -> Any:
    register = request.app.state.register
    return await once(
        lambda: legal.issue_penalty(session, register, urn, case_id, body, actor=actor, today=today_in_england()),
        status.HTTP_201_CREATED,
    )


@router.get(
    "/support-cases/{case_id}/penalty-notices",
    response_model=list[PenaltyNoticeOut],
    tags=["penalty notices"],
    summary="The case's penalty notices, with their sessions, amounts and outcomes (the read is logged)",
)
async def list_penalties(
    urn: URNPath, case_id: uuid.UUID, session: SessionDep, actor: CaseReader
) -> list[PenaltyNoticeOut]:
    return await legal.penalties(session, urn, case_id, actor=actor)


@router.post(
    "/support-cases/{case_id}/penalty-notices/{penalty_id}/outcome",
    response_model=PenaltyNoticeOut,
    tags=["penalty notices"],
    summary="Record what became of a notice: paid (the amount due that day), withdrawn (with the ground) or prosecuted",
)
async def penalty_outcome(
    urn: URNPath,
    case_id: uuid.UUID,
    penalty_id: uuid.UUID,
    body: PenaltyOutcomeIn,
    session: SessionDep,
    actor: LegalWriter,
    once: Idempotent,
) -> Any:
    return await once(
        lambda: legal.record_penalty_outcome(
            session, urn, case_id, penalty_id, body, actor=actor, today=today_in_england()
        )
    )


@router.get(
    "/support-cases/{case_id}/evidence-pack",
    tags=["support cases"],
    summary="The case's evidence pack: registration certificate, figures, chronology, plans, legal stages; "
    "JSON, or a PDF with `Accept: application/pdf` (the read is logged)",
    responses={
        200: {"content": {"application/json": {}, PDF_MEDIA_TYPE: {}}, "description": "JSON, or the PDF"},
        503: PROBLEM_RESPONSES[503] | {"description": "The register or analytics is unavailable; try again"},
    },
)
async def evidence_pack(
    urn: URNPath,
    case_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: CaseReader,
    accept: AcceptHeader = None,
    start: Annotated[IsoDate | None, Query(alias="from", description="Default: the academic year's start")] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="Default: today")] = None,
) -> Any:
    today = today_in_england()
    pack = await evidence.evidence_pack(
        session,
        request.app.state.register,
        request.app.state.analytics,
        urn,
        case_id,
        start=start or academic_year_start(academic_year_of(end or today)),
        end=end or today,
        actor=actor,
        today=today,
    )
    if accept and PDF_MEDIA_TYPE in accept:
        content = await asyncio.to_thread(evidence_pdf.render, pack, set(UNAUTHORISED_ABSENCE_CODES))
        filename = f"evidence-pack-{urn}-{pack['pupil']['upn']}.pdf"
        return Response(
            content, media_type=PDF_MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )
    return pack


ImpactWeeks = Annotated[int, Query(ge=1, le=12, description="N: school weeks in each window (default 6)")]
ImpactFrom = Annotated[
    IsoDate | None, Query(alias="from", description="Interventions that started from this day (default: a year ago)")
]
ImpactTo = Annotated[IsoDate | None, Query(alias="to", description="... to this day (default: today)")]
IMPACT_DESCRIPTION = "Which actions moved attendance. JSON, or the rows as CSV with `Accept: text/csv`.\n\n" + METHOD


@dataclass(frozen=True)
class ImpactQuery:
    weeks: int
    start: date | None
    end: date | None
    accept: str | None


def _impact_query(
    accept: AcceptHeader = None, weeks: ImpactWeeks = 6, start: ImpactFrom = None, end: ImpactTo = None
) -> ImpactQuery:
    return ImpactQuery(weeks, start, end, accept)


ImpactParameters = Annotated[ImpactQuery, Depends(_impact_query)]
IMPACT_RESPONSES = CSV_RESPONSE | {503: PROBLEM_RESPONSES[503] | {"description": "analytics is unavailable; try again"}}


async def _impact(
    request: Request, session: SessionDep, query: ImpactQuery, filename: str, *, detail: bool, **scope: str
) -> Any:
    today = today_in_england()
    report = await impact.impact_report(
        session,
        request.app.state.analytics,
        start=query.start or today - timedelta(days=365),
        end=query.end or today,
        weeks=query.weeks,
        today=today,
        detail=detail,
        **scope,  # type: ignore[arg-type]
    )
    return csv_response(report.rows, filename) if wants_csv(query.accept) else report


@router.get(
    "/support-impact",
    response_model=ImpactReport,
    responses=IMPACT_RESPONSES,
    tags=["impact"],
    summary="The school's interventions: attendance N school weeks before and after, against comparable pupils",
    description=IMPACT_DESCRIPTION,
)
async def school_impact(
    urn: URNPath, request: Request, session: SessionDep, actor: CaseReader, query: ImpactParameters
) -> Any:
    # An LA officer sees the aggregates, not each pupil's casework.
    detail = actor.role is not Role.LA
    return await _impact(request, session, query, f"support-impact-{urn}.csv", detail=detail, urn=urn)


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


@la_router.get(
    "/support-settings",
    response_model=LASupportSettings,
    tags=["formal and legal stages"],
    summary="The LA's bounds on a Notice to Improve's improvement period (3 to 6 school weeks by default)",
)
async def get_la_settings(la_code: LACodePath, session: SessionDep, actor: LAReader) -> LASupportSettings:
    return await legal.la_settings(session, la_code)


@la_router.put(
    "/support-settings",
    response_model=LASupportSettings,
    tags=["formal and legal stages"],
    summary="Set the LA's bounds on a Notice to Improve's improvement period",
)
async def put_la_settings(
    la_code: LACodePath, body: LASupportSettings, session: SessionDep, actor: LAReader
) -> LASupportSettings:
    return await legal.save_la_settings(session, la_code, body, actor=actor)


@la_router.get(
    "/support-impact",
    response_model=ImpactReport,
    responses=IMPACT_RESPONSES,
    tags=["impact"],
    summary="The LA's schools' interventions: attendance N school weeks before and after, against comparable pupils",
    description=IMPACT_DESCRIPTION,
)
async def la_impact(
    la_code: LACodePath, request: Request, session: SessionDep, actor: LAReader, query: ImpactParameters
) -> Any:
    return await _impact(request, session, query, f"support-impact-la-{la_code}.csv", detail=False, la_code=la_code)
