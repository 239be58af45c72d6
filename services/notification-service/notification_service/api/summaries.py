"""Regular attendance summaries (the periods, a preview of a batch, sending one now) and the
print runs of letters that go by post."""

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from attendance_shared.access import Scope, allow
from attendance_shared.api_types import UPNQuery, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import AcceptHeader
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, NotFound
from attendance_shared.idempotency import Once, once_per_key
from attendance_shared.rules.parent_summary import summary_periods
from notification_service.domain.rules import TEMPLATE_OF_TONE
from notification_service.models import idempotency_keys
from notification_service.repository import store
from notification_service.schemas import (
    PeriodKey,
    PrintRunOut,
    PrintRunPage,
    SummaryPeriodOut,
    SummaryPeriodsOut,
    SummaryPreview,
    SummaryPreviewItem,
    SummaryRequest,
)
from notification_service.service import letters, summaries
from notification_service.service.clock import utc_now

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["summaries and letters"])

SchoolReader = Annotated[Actor, allow(Role.STAFF, Role.MIS, Role.ADMIN, scope=Scope.SCHOOL)]
Sender = Annotated[Actor, allow(Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
Idempotent = Annotated[Once, once_per_key(idempotency_keys)]
PDF_MEDIA_TYPE = "application/pdf"
TONE_OF_TEMPLATE = {template.value: tone.value for tone, template in TEMPLATE_OF_TONE.items()}
_UNAVAILABLE: dict[int | str, dict] = {503: PROBLEM_RESPONSES[404] | {"description": "analytics did not answer"}}


@router.get(
    "/attendance-summaries",
    response_model=SummaryPeriodsOut,
    summary="The school's summary periods this year and what became of each",
)
async def summary_periods_of(urn: URNPath, session: SessionDep, actor: SchoolReader) -> SummaryPeriodsOut:
    settings = (await store.school_settings_of(session, urn)).summaries
    batches = {b.period: b for b in await store.summary_batches_of(session, urn)}
    today = today_in_england()
    periods = []
    for calendar in await store.school_calendars_of(session, urn):
        for period in summary_periods(calendar, settings.frequency):
            batch = batches.get(period.key)
            if batch is not None:
                state = "planned" if batch.finished_at else "planning"
            elif period.end >= today:
                state = "not_ended"
            else:
                state = "not_planned"
            periods.append(
                SummaryPeriodOut(
                    period=period.key,
                    label=period.label,
                    start=period.start,
                    end=period.end,
                    status=state,  # type: ignore[arg-type]
                    pupils=batch.pupils if batch else None,
                    messages=batch.messages if batch else None,
                    planned_at=batch.started_at if batch else None,
                    requested_by=batch.requested_by if batch else None,
                )
            )
    return SummaryPeriodsOut(enabled=settings.enabled, frequency=settings.frequency, periods=periods)


@router.get(
    "/attendance-summaries/preview",
    response_model=SummaryPreview,
    summary="The batch of summaries a period would send, message by message, without storing or sending any",
    responses=_UNAVAILABLE,
)
async def preview(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    request: Request,
    period: Annotated[PeriodKey, Query(description="A period of the school's calendar, such as 2026-autumn-1")],
    upn: UPNQuery = None,
    cursor: Annotated[int | None, Query(ge=0, le=10_000_000, description="`next_cursor` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SummaryPreview:
    located = await summaries.located_period(session, urn, period, today_in_england())
    batch = await summaries.plan_batch(session, request.app.state.analytics, urn, located)
    shown = [m for m in batch.messages if upn is None or m.upn == upn]
    start = cursor or 0
    page = shown[start : start + limit]
    return SummaryPreview(
        period=located.period.key,
        label=located.period.label,
        start=located.period.start,
        end=located.period.end,
        pupils=batch.pupils,
        pupils_without_sessions=batch.without_sessions,
        messages=len(batch.messages),
        by_channel=dict(Counter(m.channel for m in batch.messages)),
        by_tone=dict(Counter(TONE_OF_TEMPLATE[m.template or ""] for m in batch.messages)),
        items=[
            SummaryPreviewItem(
                upn=m.upn or "",
                contact_index=m.contact_index,
                tone=TONE_OF_TEMPLATE[m.template or ""],
                channel=m.channel,
                language=m.language,
                subject=m.subject,
                body=m.body,
                undeliverable_reason=m.undeliverable_reason,
            )
            for m in page
        ],
        next_cursor=str(start + limit) if start + limit < len(shown) else None,
    )


@router.post(
    "/attendance-summaries",
    status_code=status.HTTP_201_CREATED,
    response_model=SummaryPeriodOut,
    summary="Send a period's summaries now, rather than wait for the schedule (once per period)",
    responses={409: PROBLEM_RESPONSES[422] | {"description": "That period's summaries were already planned"}}
    | _UNAVAILABLE,
)
async def send_summaries(
    urn: URNPath, body: SummaryRequest, session: SessionDep, actor: Sender, request: Request, once: Idempotent
) -> Any:
    async def send() -> SummaryPeriodOut:
        located = await summaries.send_now(
            request.app.state.summaries, session, urn, body.period, today_in_england(), actor.subject
        )
        batch = await store.summary_batch(session, urn, body.period)
        assert batch is not None
        return SummaryPeriodOut(
            period=body.period,
            label=located.period.label,
            start=batch.period_start,
            end=batch.period_end,
            status="planned" if batch.finished_at else "planning",
            pupils=batch.pupils,
            messages=batch.messages,
            planned_at=batch.started_at,
            requested_by=batch.requested_by,
        )

    return await once(send, status.HTTP_201_CREATED)


@router.post(
    "/print-runs",
    status_code=status.HTTP_201_CREATED,
    response_model=PrintRunOut,
    summary="Take every letter waiting into one PDF to print and post; they then count as sent",
)
async def take_print_run(urn: URNPath, session: SessionDep, actor: Sender, once: Idempotent) -> Any:
    async def take() -> PrintRunOut:
        run = await letters.take_print_run(session, urn, utc_now(), actor.subject)
        return PrintRunOut.model_validate(run._asdict())

    return await once(take, status.HTTP_201_CREATED)


@router.get("/print-runs", response_model=PrintRunPage, summary="The school's print runs, newest first")
async def list_print_runs(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    cursor: Annotated[int | None, Query(ge=1, le=2**62, description="`next_cursor` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PrintRunPage:
    rows = await store.print_runs_of(session, urn, before_id=cursor, limit=limit + 1)
    items = [PrintRunOut.model_validate(r._asdict()) for r in rows[:limit]]
    return PrintRunPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.get(
    "/print-runs/{run_id}",
    response_model=PrintRunOut,
    responses={200: {"content": {PDF_MEDIA_TYPE: {}}, "description": "JSON; the PDF with `Accept: application/pdf`"}},
    summary="One print run: what it holds, or the PDF as it was made",
)
async def get_print_run(
    urn: URNPath,
    run_id: Annotated[int, Path(ge=1, le=2**62, description="`id` of a print run of this school")],
    session: SessionDep,
    actor: SchoolReader,
    accept: AcceptHeader = None,
) -> Any:
    wants_pdf = bool(accept) and PDF_MEDIA_TYPE in accept  # type: ignore[operator]
    run = await store.print_run(session, urn, run_id, with_pdf=wants_pdf)
    if run is None:
        raise NotFound(f"print run {run_id} not found")
    if wants_pdf:
        return Response(
            run.pdf,
            media_type=PDF_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="letters-{urn}-{run.made_on}-{run.id}.pdf"',
                "X-Checksum": run.checksum,
            },
        )
    return PrintRunOut.model_validate({k: v for k, v in run._asdict().items() if k != "pdf"})
