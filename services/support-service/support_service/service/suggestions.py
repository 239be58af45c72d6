"""Suggested cases, accepted or dismissed by staff, and the penalty notices that must be
considered, decided per parent."""

import uuid
from datetime import date

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.auth import Actor
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from support_service.repository import projections
from support_service.repository import suggestions as repository
from support_service.schemas import (
    AcceptIn,
    CaseIn,
    CaseOut,
    DismissIn,
    PenaltyConsiderationOut,
    PenaltyConsiderationPage,
    PenaltyDecisionOut,
    PenaltyDecisionsIn,
    SuggestionOut,
    SuggestionPage,
)
from support_service.service.cases import moment_cursor, open_case, read_moment_cursor

FLAG_WORDS = {
    "persistent_absence": "persistently absent",
    "severe_absence": "severely absent",
    "at_risk_of_persistent_absence": "at risk of persistent absence",
    "penalty_notice_threshold": "reached the penalty-notice threshold",
    "continuous_absence_10_days": "absent 10 continuous school days",
    "unexplained_absence_overdue": "an unexplained absence is overdue",
}


async def list_suggestions(
    session: AsyncSession, urn: str, *, status: str | None, cursor: str | None, limit: int
) -> SuggestionPage:
    rows = await repository.page(session, urn, status=status, after=read_moment_cursor(cursor), limit=limit + 1)
    page = rows[:limit]
    flags = await projections.active_flags_of(session, [(r.school_urn, r.upn) for r in page])
    last = page[-1] if len(rows) > limit else None
    return SuggestionPage(
        items=[_suggestion_out(r, flags.get((r.school_urn, r.upn), [])) for r in page],
        next_cursor=moment_cursor(last.suggested_at, last.id) if last else None,
    )


def _suggestion_out(row: Row, active: list[str]) -> SuggestionOut:
    return SuggestionOut(
        id=row.id,
        school_urn=row.school_urn,
        upn=row.upn,
        forename=getattr(row, "legal_forename", None),
        surname=getattr(row, "legal_surname", None),
        year_group=getattr(row, "year_group", None),
        academic_year=row.academic_year,
        flags=row.flags,
        active_flags=active,
        status=row.status,
        suggested_at=row.suggested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        dismissal_reason=row.dismissal_reason,
        case_id=row.case_id,
    )


async def _pending(session: AsyncSession, urn: str, suggestion_id: uuid.UUID) -> Row:
    row = await repository.get(session, urn, suggestion_id, for_update=True)
    if row is None:
        raise NotFound(f"suggestion {suggestion_id} not found at school {urn}")
    if row.status != "pending":
        raise Conflict(f"suggestion {suggestion_id} was already {row.status}")
    return row


async def accept(
    session: AsyncSession, urn: str, suggestion_id: uuid.UUID, body: AcceptIn, *, actor: Actor, today: date
) -> CaseOut:
    """Open the case the flags suggested; the suggestion then names it."""
    row = await _pending(session, urn, suggestion_id)
    reason = body.reason or "suggested by the pupil's risk flags: " + "; ".join(FLAG_WORDS.get(f, f) for f in row.flags)
    case = await open_case(
        session,
        urn,
        CaseIn(upn=row.upn, stage=body.stage, lead=body.lead, reason=reason, barriers=body.barriers),
        actor=actor,
        today=today,
        origin="suggestion",
        suggestion_id=row.id,
        upn_field="suggestion_id",
    )
    await repository.decide(session, row.id, {"status": "accepted", "decided_by": actor.subject, "case_id": case.id})
    return case


async def dismiss(
    session: AsyncSession, urn: str, suggestion_id: uuid.UUID, body: DismissIn, *, actor: Actor
) -> SuggestionOut:
    row = await _pending(session, urn, suggestion_id)
    decided = await repository.decide(
        session, row.id, {"status": "dismissed", "decided_by": actor.subject, "dismissal_reason": body.reason}
    )
    flags = await projections.active_flags_of(session, [(row.school_urn, row.upn)])
    return _suggestion_out(decided, flags.get((row.school_urn, row.upn), []))


async def list_considerations(
    session: AsyncSession, urn: str, *, status: str | None, cursor: str | None, limit: int
) -> PenaltyConsiderationPage:
    rows = await repository.consideration_page(
        session, urn, status=status, after=read_moment_cursor(cursor), limit=limit + 1
    )
    page = rows[:limit]
    decisions = await repository.decisions_of(session, [r.id for r in page])
    last = page[-1] if len(rows) > limit else None
    return PenaltyConsiderationPage(
        items=[_consideration_out(r, decisions[r.id]) for r in page],
        next_cursor=moment_cursor(last.created_at, last.id) if last else None,
    )


def _consideration_out(row: Row, decisions: list[Row]) -> PenaltyConsiderationOut:
    return PenaltyConsiderationOut(
        id=row.id,
        school_urn=row.school_urn,
        upn=row.upn,
        forename=row.legal_forename,
        surname=row.legal_surname,
        reached_on=row.reached_on,
        evidence=row.evidence,
        status=row.status,
        flag_active=bool(row.flag_active),
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decisions=[
            PenaltyDecisionOut(parent_name=d.parent_name, decision=d.decision, reason=d.reason) for d in decisions
        ],
    )


async def decide_consideration(
    session: AsyncSession, urn: str, consideration_id: uuid.UUID, body: PenaltyDecisionsIn, *, actor: Actor
) -> PenaltyConsiderationOut:
    """Record, for each parent of the child, whether a notice is issued. The parents named must
    be the pupil's parents or carers as the register holds them."""
    row = await repository.consideration(session, urn, consideration_id, for_update=True)
    if row is None:
        raise NotFound(f"penalty-notice consideration {consideration_id} not found at school {urn}")
    if row.status != "pending":
        raise Conflict(f"penalty-notice consideration {consideration_id} was already decided")
    pupil = await projections.pupil(session, urn, row.upn)
    known = {c["name"].casefold() for c in (pupil.record.get("contacts") or [])} if pupil else set()
    unknown = [
        (f"decisions[{i}].parent_name", f"{d.parent_name!r} is not a parent or carer the register holds for {row.upn}")
        for i, d in enumerate(body.decisions)
        if d.parent_name.casefold() not in known
    ]
    if unknown:
        raise Unprocessable.of_fields(unknown)
    await repository.decide_consideration(
        session, row.id, decided_by=actor.subject, decisions=[d.model_dump() for d in body.decisions]
    )
    decided = await repository.consideration(session, urn, consideration_id)
    decisions = await repository.decisions_of(session, [row.id])
    return _consideration_out(decided, decisions[row.id])  # type: ignore[arg-type]
