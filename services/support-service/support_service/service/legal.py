"""The formal and legal stages of a case: attendance contracts, education supervision
orders, Notices to Improve (judged every school day against the pupil's marks) and penalty
notices (the framework's limit, amounts and grounds). The rules are
`attendance_shared.rules.enforcement`; this module reads and stores around them."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Row, Table
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.auth import Actor
from attendance_shared.clock import add_years
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import (
    NoticeToImproveConcludedV1,
    NoticeToImproveIssuedV1,
    NoticeToImproveV1,
    PenaltyNoticeIssuedV1,
    PlannedSession,
    make_event,
    pupil_key,
)
from attendance_shared.outbox import add_to_outbox
from attendance_shared.rules.calendar import Calendar
from attendance_shared.rules.enforcement import (
    ESO_YEARS,
    NTI_MAX_SCHOOL_WEEKS,
    NTI_MIN_SCHOOL_WEEKS,
    EarlierNotice,
    ImprovementCriterion,
    NoticeAmounts,
    NoticeSession,
    eso_extension_problem,
    improvement_weeks_problem,
    judge_improvement,
    limit_refusal,
    notice_amounts,
    rolling_window_start,
    session_problems,
)
from attendance_shared.rules.figures import academic_year_of, academic_year_start
from attendance_shared.rules.leave import school_weeks_end
from support_service.clients.upstream import RegisterClient
from support_service.models import (
    attendance_contracts,
    notices_to_improve,
    outbox,
    penalty_notices,
    supervision_orders,
)
from support_service.repository import cases as case_repository
from support_service.repository import legal as repository
from support_service.repository import projections
from support_service.schemas import (
    ContractEndIn,
    ContractIn,
    ContractOut,
    JudgementOut,
    LASupportSettings,
    NoticeCheckOut,
    NoticeToImproveIn,
    NoticeToImproveOut,
    PenaltyNoticeIn,
    PenaltyNoticeOut,
    PenaltyOutcomeIn,
    SessionIn,
    SupervisionOrderChangeIn,
    SupervisionOrderIn,
    SupervisionOrderOut,
)
from support_service.service.cases import SOURCE, require_case, require_open_case
from support_service.service.plans import review_date_after, school_calendar


async def _locked(session: AsyncSession, table: Table, case: Row, row_id: uuid.UUID, what: str) -> Row:
    """One of the case's contracts, orders or notices, locked for a change, or a 404."""
    row = await repository.get(session, table, case.id, row_id, for_update=True)
    if row is None:
        raise NotFound(f"{what} {row_id} not found in support case {case.id}")
    return row


# --- LA settings ---------------------------------------------------------------------------


async def la_settings(session: AsyncSession, la_code: str) -> LASupportSettings:
    row = await repository.la_bounds(session, la_code)
    if row is None:
        return LASupportSettings(nti_min_school_weeks=NTI_MIN_SCHOOL_WEEKS, nti_max_school_weeks=NTI_MAX_SCHOOL_WEEKS)
    return LASupportSettings(
        nti_min_school_weeks=row.nti_min_school_weeks, nti_max_school_weeks=row.nti_max_school_weeks
    )


async def save_la_settings(
    session: AsyncSession, la_code: str, body: LASupportSettings, *, actor: Actor
) -> LASupportSettings:
    await repository.save_la_bounds(session, {"la_code": la_code, **body.model_dump(), "updated_by": actor.subject})
    return body


# --- Attendance contracts ------------------------------------------------------------------


def _contract_out(row: Row) -> ContractOut:
    return ContractOut(
        id=row.id,
        case_id=row.case_id,
        agreed_with=row.agreed_with,
        agreed_on=row.agreed_on,
        parent_requirements=row.parent_requirements,
        support_offered=row.support_offered,
        review_on=row.review_on,
        status=row.status,
        ended_on=row.ended_on,
        outcome=row.outcome,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def add_contract(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: ContractIn, *, actor: Actor, today: date
) -> ContractOut:
    case = await require_open_case(session, urn, case_id, actor)
    if body.agreed_on > today:
        raise Unprocessable.of_field("agreed_on", "a contract is recorded once agreed, not before")
    review_on = body.review_on or await review_date_after(session, urn, body.agreed_on)
    if review_on <= body.agreed_on:
        raise Unprocessable.of_field("review_on", "the review must come after the contract is agreed")
    row = await repository.add(
        session,
        attendance_contracts,
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "agreed_with": body.agreed_with,
            "agreed_on": body.agreed_on,
            "parent_requirements": body.parent_requirements,
            "support_offered": body.support_offered,
            "review_on": review_on,
            "status": "active",
            "created_by": actor.subject,
        },
    )
    return _contract_out(row)


async def end_contract(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    contract_id: uuid.UUID,
    body: ContractEndIn,
    *,
    actor: Actor,
    today: date,
) -> ContractOut:
    case = await require_open_case(session, urn, case_id, actor)
    row = await _locked(session, attendance_contracts, case, contract_id, "attendance contract")
    if row.status != "active":
        raise Conflict(f"attendance contract {contract_id} ended on {row.ended_on}")
    changed = await repository.change(
        session, attendance_contracts, row.id, {"status": "ended", "ended_on": today, "outcome": body.outcome}
    )
    return _contract_out(changed)


async def contracts(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, log: bool = True
) -> list[ContractOut]:
    case = await require_case(session, urn, case_id, actor)
    if log:
        await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="legal")
    return [_contract_out(r) for r in await repository.of_case(session, attendance_contracts, case.id)]


# --- Education supervision orders ---------------------------------------------------------


def _order_out(row: Row, today: date) -> SupervisionOrderOut:
    status = row.status
    if status == "in_force" and row.expires_on < today:
        status = "expired"
    return SupervisionOrderOut(
        id=row.id,
        case_id=row.case_id,
        court_date=row.court_date,
        made_on=row.made_on,
        supervisor=row.supervisor,
        expires_on=row.expires_on,
        extensions=row.extensions,
        status=status,
        discharged_on=row.discharged_on,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def add_order(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: SupervisionOrderIn, *, actor: Actor, today: date
) -> SupervisionOrderOut:
    case = await require_open_case(session, urn, case_id, actor)
    if body.made_on < body.court_date:
        raise Unprocessable.of_field("made_on", "an order is made at or after the court's hearing")
    if body.made_on > today:
        raise Unprocessable.of_field("made_on", "an order is recorded once the court has made it")
    row = await repository.add(
        session,
        supervision_orders,
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "court_date": body.court_date,
            "made_on": body.made_on,
            "supervisor": body.supervisor,
            "expires_on": add_years(body.made_on, ESO_YEARS),
            "status": "in_force",
            "created_by": actor.subject,
        },
    )
    return _order_out(row, today)


async def change_order(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    order_id: uuid.UUID,
    body: SupervisionOrderChangeIn,
    *,
    actor: Actor,
    today: date,
) -> SupervisionOrderOut:
    case = await require_open_case(session, urn, case_id, actor)
    row = await _locked(session, supervision_orders, case, order_id, "education supervision order")
    if row.status != "in_force":
        raise Conflict(f"education supervision order {order_id} was discharged on {row.discharged_on}")
    if body.extend_to is not None:
        if problem := eso_extension_problem(row.made_on, row.expires_on, body.extend_to):
            raise Unprocessable.of_field("extend_to", problem)
        extension = {"from": row.expires_on.isoformat(), "to": body.extend_to.isoformat(), "by": actor.subject}
        values = {"expires_on": body.extend_to, "extensions": [*row.extensions, extension]}
    else:
        assert body.discharged_on is not None
        if body.discharged_on < row.made_on:
            raise Unprocessable.of_field("discharged_on", "before the order was made")
        values = {"status": "discharged", "discharged_on": body.discharged_on}
    return _order_out(await repository.change(session, supervision_orders, row.id, values), today)


async def orders(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, today: date, log: bool = True
) -> list[SupervisionOrderOut]:
    case = await require_case(session, urn, case_id, actor)
    if log:
        await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="legal")
    return [_order_out(r, today) for r in await repository.of_case(session, supervision_orders, case.id)]


# --- Notices to Improve -------------------------------------------------------------------


def _first_school_day_after(calendar: Calendar, day: date) -> date:
    following = day + timedelta(days=1)
    for _ in range(120):
        if calendar.is_school_day(following):
            return following
        following += timedelta(days=1)
    return day + timedelta(days=1)


def _criterion(row: Row) -> ImprovementCriterion:
    return ImprovementCriterion(row.criterion, row.min_attendance_percent)


def _notice_out(row: Row, checks: list[Row]) -> NoticeToImproveOut:
    return NoticeToImproveOut(
        id=row.id,
        case_id=row.case_id,
        issued_on=row.issued_on,
        school_weeks=row.school_weeks,
        period_start=row.period_start,
        period_end=row.period_end,
        criterion=row.criterion,
        criterion_text=_criterion(row).describe(),
        min_attendance_percent=row.min_attendance_percent,
        status=row.status,
        judgement=JudgementOut(**row.judgement) if row.judgement else None,
        checked_on=row.checked_on,
        checks=[NoticeCheckOut(checked_on=c.checked_on, judgement=JudgementOut(**c.judgement)) for c in checks],
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def _publish_notice(session: AsyncSession, kind: type[NoticeToImproveV1], row: Row) -> None:
    payload = kind(
        case_id=row.case_id,
        notice_id=row.id,
        school_urn=row.school_urn,
        la_code=row.la_code,
        upn=row.upn,
        issued_on=row.issued_on,
        period_start=row.period_start,
        period_end=row.period_end,
        criterion=row.criterion,
        min_attendance_percent=row.min_attendance_percent,
        status=row.status,
    )
    event = make_event(payload, source=SOURCE, subject=pupil_key(row.school_urn, row.upn))
    await add_to_outbox(session, outbox, topics.SUPPORT_CASES.name, [event])


async def issue_notice(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: NoticeToImproveIn, *, actor: Actor, today: date
) -> NoticeToImproveOut:
    case = await require_open_case(session, urn, case_id, actor)
    if body.issued_on > today:
        raise Unprocessable.of_field("issued_on", "a notice is recorded once issued, not before")
    bounds = await la_settings(session, case.la_code)
    if problem := improvement_weeks_problem(
        body.school_weeks, minimum=bounds.nti_min_school_weeks, maximum=bounds.nti_max_school_weeks
    ):
        raise Unprocessable.of_field("school_weeks", problem)
    if (running := await repository.running_notice(session, case.id)) is not None:
        raise Conflict(f"a Notice to Improve ({running.id}) is still running for this case")
    calendar = await school_calendar(session, urn)
    start = _first_school_day_after(calendar, body.issued_on)
    end = school_weeks_end(calendar, start, body.school_weeks) or start + timedelta(weeks=body.school_weeks)
    row = await repository.add(
        session,
        notices_to_improve,
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "school_urn": urn,
            "upn": case.upn,
            "la_code": case.la_code,
            "issued_on": body.issued_on,
            "school_weeks": body.school_weeks,
            "period_start": start,
            "period_end": end,
            "criterion": body.criterion,
            "min_attendance_percent": body.min_attendance_percent,
            "status": "running",
            "created_by": actor.subject,
        },
    )
    await _publish_notice(session, NoticeToImproveIssuedV1, row)
    return _notice_out(row, [])


async def notices(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, log: bool = True
) -> list[NoticeToImproveOut]:
    case = await require_case(session, urn, case_id, actor)
    if log:
        await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="legal")
    rows = await repository.of_case(session, notices_to_improve, case.id)
    checks = await repository.checks_of(session, [r.id for r in rows])
    return [_notice_out(r, checks[r.id]) for r in rows]


async def load_marks(session: AsyncSession, register: RegisterClient, today: date, *, limit: int = 20) -> int:
    """Read the marks of the academic year so far from the register for each newly opened case.
    From the case's commit on, the marks topic keeps them: a mark the register commits after
    this read is published after it too, and the consumer then finds the case open."""
    rows = await repository.cases_to_load(session, limit=limit)
    for row in rows:
        since = academic_year_start(academic_year_of(today))
        codes = await register.codes(row.school_urn, row.upn, since, today)
        await repository.upsert_marks(
            session,
            [
                {"school_urn": row.school_urn, "upn": row.upn, "date": d, "session": s, "code": code, "revision": rev}
                for (d, s), (rev, code) in codes.items()
            ],
        )
        await repository.marks_loaded(session, row.id)
    return len(rows)


async def check_notices(session: AsyncSession, today: date, *, limit: int = 500) -> int:
    """Judge each running notice once a day against the pupil's marks of the period so far. A
    notice whose period is over, or that can no longer be met, is concluded and announced."""
    rows = await repository.notices_to_check(session, today, limit=limit)
    rows = [r for r in rows if await repository.case_marks_loaded(session, r.case_id)]
    for row in rows:
        until = min(today, row.period_end)
        codes = await repository.codes_between(session, row.school_urn, row.upn, row.period_start, until)
        judgement = judge_improvement(_criterion(row), codes, period_over=today > row.period_end)
        values = {
            "status": judgement.status,
            "possible": judgement.possible,
            "attended": judgement.attended,
            "unauthorised": judgement.unauthorised,
            "attendance_percent": judgement.attendance_percent,
            "why": judgement.why,
        }
        await repository.save_check(session, row.id, today, values)
        concluded = judgement.status in ("met", "not_met")
        changed = await repository.change(
            session,
            notices_to_improve,
            row.id,
            {"judgement": values, "checked_on": today} | ({"status": judgement.status} if concluded else {}),
        )
        if concluded:
            await _publish_notice(session, NoticeToImproveConcludedV1, changed)
    return len(rows)


# --- Penalty notices -----------------------------------------------------------------------


def parent_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _penalty_out(row: Row, grounds: list[Row]) -> PenaltyNoticeOut:
    return PenaltyNoticeOut(
        id=row.id,
        case_id=row.case_id,
        parent_name=row.parent_name,
        issued_on=row.issued_on,
        sessions=[SessionIn(date=g.date, session=g.session) for g in grounds],
        lower_amount=row.lower_amount,
        full_amount=row.full_amount,
        status=row.status,
        paid_on=row.paid_on,
        amount_paid=row.amount_paid,
        withdrawal_ground=row.withdrawal_ground,
        outcome_on=row.outcome_on,
        outcome_notes=row.outcome_notes,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def issue_penalty(
    session: AsyncSession,
    register: RegisterClient,
    urn: str,
    case_id: uuid.UUID,
    body: PenaltyNoticeIn,
    *,
    actor: Actor,
    today: date,
) -> PenaltyNoticeOut:
    case = await require_open_case(session, urn, case_id, actor)
    if body.issued_on > today:
        raise Unprocessable.of_field("issued_on", "a notice is recorded once issued, not before")
    pupil = await projections.pupil(session, urn, case.upn)
    key = parent_key(body.parent_name)
    parents = {parent_key(c["name"]) for c in (pupil.record.get("contacts") or [])} if pupil else set()
    if key not in parents:
        raise Unprocessable.of_field(
            "parent_name", f"{body.parent_name!r} is not a parent or carer the register holds for {case.upn}"
        )
    earlier = await repository.earlier_notices(session, urn, case.upn, key)
    history = [EarlierNotice(r.issued_on, r.status == "withdrawn") for r in earlier]
    if refusal := limit_refusal(history, body.issued_on):
        raise Unprocessable.of_field("parent_name", refusal)
    sessions = [NoticeSession(s.date, s.session) for s in body.sessions]
    window_start = rolling_window_start(await school_calendar(session, urn), body.issued_on)
    first = min([s.day for s in sessions] + [window_start])
    standing = await register.codes(urn, case.upn, first, max(s.day for s in sessions))
    problems = session_problems(
        sessions,
        codes={key: code for key, (_, code) in standing.items()},
        used=await repository.grounds_in_use(session, urn, case.upn, key),
        window_start=window_start,
        issued_on=body.issued_on,
    )
    if problems:
        raise Unprocessable.of_fields(problems)
    amounts = notice_amounts(history, body.issued_on)
    row = await repository.add(
        session,
        penalty_notices,
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "school_urn": urn,
            "upn": case.upn,
            "la_code": case.la_code,
            "parent_name": body.parent_name,
            "parent_key": key,
            "issued_on": body.issued_on,
            "lower_amount": amounts.lower,
            "full_amount": amounts.full,
            "status": "issued",
            "created_by": actor.subject,
        },
    )
    ordered = sorted({(s.day, s.session) for s in sessions})
    await repository.add_grounds(
        session,
        [
            {"notice_id": row.id, "date": d, "session": s, "school_urn": urn, "upn": case.upn, "parent_key": key}
            for d, s in ordered
        ],
    )
    payload = PenaltyNoticeIssuedV1(
        case_id=case.id,
        notice_id=row.id,
        school_urn=urn,
        la_code=case.la_code,
        upn=case.upn,
        parent_name=body.parent_name,
        issued_on=body.issued_on,
        sessions=tuple(PlannedSession(date=d, session=s) for d, s in ordered),  # type: ignore[arg-type]
        lower_amount=amounts.lower,
        full_amount=amounts.full,
    )
    event = make_event(payload, source=SOURCE, subject=pupil_key(urn, case.upn), time=datetime.now(UTC))
    await add_to_outbox(session, outbox, topics.SUPPORT_CASES.name, [event])
    grounds = await repository.grounds_of(session, [row.id])
    return _penalty_out(row, grounds[row.id])


async def record_penalty_outcome(
    session: AsyncSession,
    urn: str,
    case_id: uuid.UUID,
    notice_id: uuid.UUID,
    body: PenaltyOutcomeIn,
    *,
    actor: Actor,
    today: date,
) -> PenaltyNoticeOut:
    case = await require_case(session, urn, case_id, actor)
    row = await _locked(session, penalty_notices, case, notice_id, "penalty notice")
    if row.status != "issued":
        raise Conflict(f"penalty notice {notice_id} is already {row.status}")
    if body.on > today or body.on < row.issued_on:
        raise Unprocessable.of_field("on", f"must fall between the issue date ({row.issued_on}) and today")
    values: dict = {"status": body.outcome, "outcome_on": body.on, "outcome_notes": body.notes}
    amounts = NoticeAmounts(lower=row.lower_amount, full=row.full_amount)
    if body.outcome == "paid":
        payable = amounts.payable(row.issued_on, body.on)
        if payable is None:
            raise Unprocessable.of_field(
                "on", "a notice unpaid after 28 days cannot be paid: the LA prosecutes or withdraws it"
            )
        values |= {"paid_on": body.on, "amount_paid": payable}
    elif body.outcome == "prosecuted" and amounts.payable(row.issued_on, body.on) is not None:
        raise Unprocessable.of_field("on", "the 28 days to pay have not passed")
    elif body.outcome == "withdrawn":
        values["withdrawal_ground"] = body.withdrawal_ground
        await repository.withdraw_grounds(session, row.id)
    changed = await repository.change(session, penalty_notices, row.id, values)
    grounds = await repository.grounds_of(session, [row.id])
    return _penalty_out(changed, grounds[row.id])


async def penalties(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, log: bool = True
) -> list[PenaltyNoticeOut]:
    case = await require_case(session, urn, case_id, actor)
    if log:
        await case_repository.log_reads(session, [case.id], reader=actor.subject, role=actor.role.value, what="legal")
    rows = await repository.of_case(session, penalty_notices, case.id)
    grounds = await repository.grounds_of(session, [r.id for r in rows])
    return [_penalty_out(r, grounds[r.id]) for r in rows]
