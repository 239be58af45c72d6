"""Opening, working and closing a pupil's support case; its chronology and read log.

Every read of a case (one case, a pupil's cases, a listing, the chronology) is logged with
who read it: these are safeguarding records."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.cursors import decode_cursor, int64, uuid_of
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import (
    AttendanceMeetingArrangedV1,
    NotificationOutcomeV1,
    SupportCaseChangedV1,
    SupportCaseClosedV1,
    SupportCaseOpenedV1,
    SupportCaseStageChangedV1,
    SupportCaseUpdatedV1,
    make_event,
    pupil_key,
)
from attendance_shared.outbox import add_to_outbox
from attendance_shared.rules.calendar import Calendar
from attendance_shared.rules.letters import CHRONOLOGY_KIND_OF_CHANNEL, chronology_outcome
from attendance_shared.rules.support import visible_to_la
from support_service.models import outbox
from support_service.repository import cases as case_repository
from support_service.repository import plans as plan_repository
from support_service.repository import projections
from support_service.schemas import (
    BriefAction,
    BriefPlan,
    CaseBrief,
    CaseBriefPage,
    CaseChangeIn,
    CaseIn,
    CaseOut,
    CasePage,
    CaseReadOut,
    CaseReadPage,
    CaseSummary,
    CloseIn,
    ContactIn,
    ContactOut,
    ContactPage,
    MeetingIn,
    MeetingOut,
    PupilCases,
    StageChangeIn,
    StageChangeOut,
)

SOURCE = "support-service"


def _sees_only_la_cases(actor: Actor) -> bool:
    return actor.role is Role.LA


async def require_case(
    session: AsyncSession, urn: str, case_id: uuid.UUID, actor: Actor, *, for_update: bool = False
) -> Row:
    """The case, or a 404: also when an LA officer asks for a case not (yet) shared with the LA."""
    row = await case_repository.get(session, urn, case_id, for_update=for_update)
    if row is None or (_sees_only_la_cases(actor) and not visible_to_la(row.stage, row.referred_to_la)):
        raise NotFound(f"support case {case_id} not found at school {urn}")
    return row


async def require_pupil_on_roll(session: AsyncSession, urn: str, upn: str, today: date, *, field: str) -> Row:
    pupil = await projections.pupil(session, urn, upn)
    if not projections.on_roll(pupil, today):
        raise Unprocessable.of_field(field, f"pupil {upn} is not on roll at school {urn} today")
    return pupil  # type: ignore[return-value]


async def _publish(
    session: AsyncSession, kind: type[SupportCaseChangedV1], row: Row, previous_stage: str | None
) -> None:
    payload = kind(
        case_id=row.id,
        school_urn=row.school_urn,
        la_code=row.la_code,
        upn=row.upn,
        change=row.change,
        stage=row.stage,
        previous_stage=previous_stage,
        status=row.status,
        origin=row.origin,
        barriers=tuple(b["barrier"] for b in row.barriers),
        referred_to_la=row.referred_to_la,
        opened_at=row.opened_at,
        changed_at=row.closed_at or datetime.now(UTC),
        outcome=row.outcome,
    )
    event = make_event(payload, source=SOURCE, subject=pupil_key(row.school_urn, row.upn))
    await add_to_outbox(session, outbox, topics.SUPPORT_CASES.name, [event])


async def open_case(
    session: AsyncSession,
    urn: str,
    body: CaseIn,
    *,
    actor: Actor,
    today: date,
    origin: str = "staff",
    suggestion_id: uuid.UUID | None = None,
    upn_field: str = "upn",
) -> CaseOut:
    pupil = await require_pupil_on_roll(session, urn, body.upn, today, field=upn_field)
    if (existing := await case_repository.open_of_pupil(session, urn, body.upn)) is not None:
        raise Conflict(
            f"pupil {body.upn} already has an open support case ({existing.id}); work or close it first",
            errors=[{"field": upn_field, "message": "an open case exists for this pupil", "case_id": str(existing.id)}],
        )
    row = await case_repository.add(
        session,
        {
            "id": uuid.uuid4(),
            "school_urn": urn,
            "upn": body.upn,
            "la_code": pupil.la_code,
            "status": "open",
            "stage": body.stage,
            "lead": body.lead,
            "barriers": [b.model_dump(mode="json") for b in body.barriers],
            "professionals": [p.model_dump(mode="json") for p in body.professionals],
            "referred_to_la": body.referred_to_la,
            "origin": origin,
            "suggestion_id": suggestion_id,
            "opened_by": actor.subject,
        },
    )
    await case_repository.add_stage_change(
        session,
        {
            "case_id": row.id,
            "from_stage": None,
            "to_stage": body.stage,
            "reason": body.reason,
            "changed_by": actor.subject,
        },
    )
    await _publish(session, SupportCaseOpenedV1, row, None)
    return (await full_cases(session, [row], contact_cutoff=None))[0]


async def change_case(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: CaseChangeIn, *, actor: Actor
) -> CaseOut:
    row = await require_open_case(session, urn, case_id, actor)
    values: dict = {}
    if body.lead is not None:
        values["lead"] = body.lead
    if body.barriers is not None:
        values["barriers"] = [b.model_dump(mode="json") for b in body.barriers]
    if body.professionals is not None:
        values["professionals"] = [p.model_dump(mode="json") for p in body.professionals]
    if body.referred_to_la is not None:
        values["referred_to_la"] = body.referred_to_la
    # Readers of the stream hear of what they hold: the barriers' kinds and the LA referral.
    publish = ("barriers" in values and values["barriers"] != row.barriers) or (
        "referred_to_la" in values and values["referred_to_la"] != row.referred_to_la
    )
    changed = await case_repository.change(session, row.id, values, publish=publish)
    if publish:
        await _publish(session, SupportCaseUpdatedV1, changed, None)
    return (await full_cases(session, [changed], contact_cutoff=None))[0]


async def change_stage(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: StageChangeIn, *, actor: Actor
) -> CaseOut:
    row = await require_open_case(session, urn, case_id, actor)
    if body.stage == row.stage:
        raise Unprocessable.of_field("stage", f"the case is already at stage {row.stage!r}")
    changed = await case_repository.change(session, row.id, {"stage": body.stage}, publish=True)
    await case_repository.add_stage_change(
        session,
        {
            "case_id": row.id,
            "from_stage": row.stage,
            "to_stage": body.stage,
            "reason": body.reason,
            "changed_by": actor.subject,
        },
    )
    await _publish(session, SupportCaseStageChangedV1, changed, row.stage)
    return (await full_cases(session, [changed], contact_cutoff=None))[0]


async def close_case(session: AsyncSession, urn: str, case_id: uuid.UUID, body: CloseIn, *, actor: Actor) -> CaseOut:
    row = await require_open_case(session, urn, case_id, actor)
    changed = await case_repository.change(
        session,
        row.id,
        {
            "status": "closed",
            "closed_by": actor.subject,
            "closed_at": datetime.now(UTC),
            "outcome": body.outcome,
            "outcome_notes": body.notes,
        },
        publish=True,
    )
    await _publish(session, SupportCaseClosedV1, changed, row.stage)
    return (await full_cases(session, [changed], contact_cutoff=None))[0]


async def require_open_case(session: AsyncSession, urn: str, case_id: uuid.UUID, actor: Actor) -> Row:
    """The case, locked for a change, or a 409 once it is closed."""
    row = await require_case(session, urn, case_id, actor, for_update=True)
    if row.status != "open":
        raise Conflict(f"support case {case_id} was closed on {row.closed_at:%Y-%m-%d}; open a new one")
    return row


async def get_case(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, cutoff: datetime | None
) -> CaseOut:
    row = await require_case(session, urn, case_id, actor)
    await case_repository.log_reads(session, [row.id], reader=actor.subject, role=actor.role.value, what="case")
    return (await full_cases(session, [row], contact_cutoff=cutoff))[0]


async def pupil_cases(
    session: AsyncSession, urn: str, upn: str, *, actor: Actor, cutoff: datetime | None
) -> PupilCases:
    rows = await case_repository.of_pupil(session, urn, upn, la_only=_sees_only_la_cases(actor))
    await case_repository.log_reads(
        session, [r.id for r in rows], reader=actor.subject, role=actor.role.value, what="case"
    )
    return PupilCases(items=await full_cases(session, rows, contact_cutoff=cutoff))


async def list_cases(
    session: AsyncSession,
    *,
    actor: Actor,
    urn: str | None = None,
    la_code: str | None = None,
    status: str | None,
    stage: str | None,
    lead: str | None,
    year_group: str | None,
    flag: str | None,
    upn: str | None,
    overdue: str | None,
    today: date,
    cutoff: datetime | None,
    cursor: str | None,
    limit: int,
) -> CasePage:
    after = read_moment_cursor(cursor)
    rows = await case_repository.page(
        session,
        urn=urn,
        la_code=la_code,
        la_only=_sees_only_la_cases(actor),
        status=status,
        stage=stage,
        lead=lead,
        year_group=year_group,
        flag=flag,
        upn=upn,
        overdue=overdue,
        today=today,
        contact_before=cutoff,
        after=after,
        limit=limit + 1,
    )
    if overdue == "contact" and cutoff is None:
        rows = []  # no calendar yet: no school day has passed to be overdue by
    page = rows[:limit]
    await case_repository.log_reads(
        session, [r.id for r in page], reader=actor.subject, role=actor.role.value, what="list"
    )
    flags = await projections.active_flags_of(session, [(r.school_urn, r.upn) for r in page])
    last = page[-1] if len(rows) > limit else None
    return CasePage(
        items=[_summary(r, flags.get((r.school_urn, r.upn), []), r.last_contact_at, cutoff) for r in page],
        next_cursor=moment_cursor(last.opened_at, last.id) if last else None,
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def moment_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """A page's place as microseconds since 1970 and the row's id: nothing a URL must escape."""
    return f"{_micros(at)}_{row_id}"


def _case_cursor(text: str) -> tuple[datetime, uuid.UUID]:
    micros, row_id = text.split("_", 1)
    return EPOCH + timedelta(microseconds=int64(micros)), uuid_of(row_id)


async def case_briefs(
    session: AsyncSession, urn: str, *, actor: Actor, cursor: str | None, limit: int
) -> CaseBriefPage:
    """The school's open cases as a Targeting Support Meeting pack tells them; the read is logged."""
    rows = await case_repository.page(
        session,
        urn=urn,
        la_only=_sees_only_la_cases(actor),
        status="open",
        stage=None,
        lead=None,
        year_group=None,
        flag=None,
        upn=None,
        overdue=None,
        today=today_in_england(),
        contact_before=None,
        after=read_moment_cursor(cursor),
        limit=limit + 1,
    )
    page = rows[:limit]
    await case_repository.log_reads(
        session, [r.id for r in page], reader=actor.subject, role=actor.role.value, what="summary"
    )
    active = await plan_repository.active_of_cases(session, [r.id for r in page])
    items = []
    for row in page:
        plan = active.get(row.id)
        items.append(
            CaseBrief(
                case_id=row.id,
                upn=row.upn,
                stage=row.stage,
                lead=row.lead,
                barriers=[b["barrier"] for b in row.barriers],
                referred_to_la=row.referred_to_la,
                opened_at=row.opened_at,
                last_contact_at=row.last_contact_at,
                plan=None
                if plan is None
                else BriefPlan(
                    target_attendance_percent=plan.target_percent,
                    review_on=plan.review_on,
                    agreed_on=plan.agreed_on,
                    actions=[
                        BriefAction(what=a["what"], owner=a["owner"], due_on=a["due_on"], status=a["status"])
                        for a in plan.actions
                        if a["status"] != "dropped"
                    ],
                ),
            )
        )
    last = page[-1] if len(rows) > limit else None
    return CaseBriefPage(items=items, next_cursor=moment_cursor(last.opened_at, last.id) if last else None)


def read_moment_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    return decode_cursor(cursor, _case_cursor) if cursor else None


def _contact_place(text: str) -> tuple[datetime, datetime, uuid.UUID]:
    happened, recorded, row_id = text.split("_", 2)
    return (
        EPOCH + timedelta(microseconds=int64(happened)),
        EPOCH + timedelta(microseconds=int64(recorded)),
        uuid_of(row_id),
    )


def _overdue(row: Row, last_contact: datetime | None, cutoff: datetime | None) -> bool:
    if row.status != "open" or cutoff is None:
        return False
    return (last_contact or row.opened_at) < cutoff and row.opened_at < cutoff


def _summary(row: Row, flags: list[str], last_contact: datetime | None, cutoff: datetime | None) -> CaseSummary:
    return CaseSummary(
        id=row.id,
        school_urn=row.school_urn,
        upn=row.upn,
        forename=getattr(row, "legal_forename", None),
        surname=getattr(row, "legal_surname", None),
        year_group=getattr(row, "year_group", None),
        status=row.status,
        stage=row.stage,
        lead=row.lead,
        barriers=row.barriers,
        referred_to_la=row.referred_to_la,
        origin=row.origin,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        outcome=row.outcome,
        active_flags=flags,
        last_contact_at=last_contact,
        overdue_contact=_overdue(row, last_contact, cutoff),
    )


async def full_cases(session: AsyncSession, rows: Sequence[Row], *, contact_cutoff: datetime | None) -> list[CaseOut]:
    ids = [r.id for r in rows]
    history = await case_repository.stage_history(session, ids)
    last_contacts = await case_repository.last_contacts(session, ids)
    keys = [(r.school_urn, r.upn) for r in rows]
    flags = await projections.active_flags_of(session, keys)
    people = await projections.pupils_of(session, keys)
    out = []
    for row in rows:
        person = people.get((row.school_urn, row.upn))
        summary = _summary(row, flags.get((row.school_urn, row.upn), []), last_contacts.get(row.id), contact_cutoff)
        out.append(
            CaseOut(
                **summary.model_dump(exclude={"forename", "surname", "year_group"}),
                forename=person.legal_forename if person else None,
                surname=person.legal_surname if person else None,
                year_group=person.year_group if person else None,
                professionals=row.professionals,
                suggestion_id=row.suggestion_id,
                opened_by=row.opened_by,
                closed_by=row.closed_by,
                outcome_notes=row.outcome_notes,
                stage_history=[
                    StageChangeOut(
                        from_stage=h.from_stage,
                        to_stage=h.to_stage,
                        reason=h.reason,
                        changed_by=h.changed_by,
                        changed_at=h.changed_at,
                    )
                    for h in history[row.id]
                ],
            )
        )
    return out


async def contact_cutoff(session: AsyncSession, urn: str, today: date, school_days: int) -> datetime | None:
    """The start of the school day `school_days` before today: an open case with no contact
    since is overdue. None when the school has no calendar to count school days in."""
    calendar: Calendar | None = await projections.calendar_of(session, urn)
    if calendar is None:
        return None
    day = calendar.school_days_before(today, school_days)
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


async def add_contact(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: ContactIn, *, actor: Actor
) -> ContactOut:
    row = await require_case(session, urn, case_id, actor, for_update=True)
    if body.happened_at > datetime.now(UTC):
        raise Unprocessable.of_field("happened_at", "a contact is recorded after it happens, not before")
    if body.corrects is not None:
        corrected = await case_repository.contact(session, row.id, body.corrects)
        if corrected is None:
            raise Unprocessable.of_field("corrects", f"no entry {body.corrects} in this case's chronology")
    contact = await case_repository.add_contact(
        session,
        {"id": uuid.uuid4(), "case_id": row.id, "recorded_by": actor.subject, **body.model_dump()},
    )
    return _contact_out(contact, None)


async def arrange_meeting(
    session: AsyncSession, urn: str, case_id: uuid.UUID, body: MeetingIn, *, actor: Actor, now: datetime
) -> MeetingOut:
    """Store the meeting and announce it: notification-service sends the invitations, and
    logs each in this case's chronology through its outcome."""
    row = await require_open_case(session, urn, case_id, actor)
    if body.starts_at <= now:
        raise Unprocessable.of_field("starts_at", "a meeting is arranged before it starts, not after")
    if body.starts_at > now + timedelta(days=366):
        raise Unprocessable.of_field("starts_at", "a meeting is arranged at most a year ahead")
    meeting = await case_repository.add_meeting(
        session, {"id": uuid.uuid4(), "case_id": row.id, "created_by": actor.subject, **body.model_dump()}
    )
    payload = AttendanceMeetingArrangedV1(
        case_id=row.id,
        meeting_id=meeting.id,
        school_urn=row.school_urn,
        la_code=row.la_code,
        upn=row.upn,
        starts_at=meeting.starts_at,
        place=meeting.place,
        purpose=meeting.purpose,
    )
    event = make_event(payload, source=SOURCE, subject=pupil_key(row.school_urn, row.upn))
    await add_to_outbox(session, outbox, topics.SUPPORT_CASES.name, [event])
    return MeetingOut.model_validate(meeting._asdict())


async def meetings(session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor) -> list[MeetingOut]:
    row = await require_case(session, urn, case_id, actor)
    return [MeetingOut.model_validate(m._asdict()) for m in await case_repository.meetings_of(session, row.id)]


async def log_letters(session: AsyncSession, outcomes: Sequence[NotificationOutcomeV1]) -> int:
    """Each outcome of a letter about a case (rules.letters) as an entry of the pupil's case
    chronology: the open case, else the latest. The inbox applies each outcome once."""
    lines = [
        ((outcome.school_urn, outcome.upn), outcome, line)
        for outcome in outcomes
        if outcome.upn is not None
        and (line := chronology_outcome(outcome.rule, outcome.channel, outcome.outcome, outcome.reason))
    ]
    keys = [key for key, _, _ in lines]
    latest = await case_repository.latest_cases_of(session, keys)
    pupils = await projections.pupils_of(session, keys)
    entries = []
    for key, outcome, line in lines:
        if (case := latest.get(key)) is None:
            continue
        contacts = (pupils[key].record.get("contacts") or []) if key in pupils else []
        index = outcome.contact_index
        named = contacts[index].get("name") if index is not None and index < len(contacts) else None
        entries.append(
            {
                "id": uuid.uuid4(),
                "case_id": case.id,
                "kind": CHRONOLOGY_KIND_OF_CHANNEL.get(outcome.channel, "letter"),
                "happened_at": outcome.occurred_at,
                "made_by": "notification-service",
                "with_whom": named or "parent or carer",
                "outcome": line,
                "notes": f"message {outcome.message_id}",
                "recorded_by": "notification-service",
            }
        )
    await case_repository.add_contacts(session, entries)
    return len(entries)


async def list_contacts(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, cursor: str | None, limit: int
) -> ContactPage:
    row = await require_case(session, urn, case_id, actor)
    after = decode_cursor(cursor, _contact_place) if cursor else None
    rows = await case_repository.contact_page(session, row.id, after=after, limit=limit + 1)
    await case_repository.log_reads(session, [row.id], reader=actor.subject, role=actor.role.value, what="chronology")
    last = rows[limit - 1] if len(rows) > limit else None
    return ContactPage(
        items=[_contact_out(r, r.corrected_by) for r in rows[:limit]],
        next_cursor=f"{_micros(last.happened_at)}_{_micros(last.recorded_at)}_{last.id}" if last else None,
    )


def _contact_out(row: Row, corrected_by: uuid.UUID | None) -> ContactOut:
    return ContactOut(
        id=row.id,
        case_id=row.case_id,
        kind=row.kind,
        happened_at=row.happened_at,
        made_by=row.made_by,
        with_whom=row.with_whom,
        outcome=row.outcome,
        notes=row.notes,
        corrects=row.corrects,
        corrected_by=corrected_by,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


async def list_reads(
    session: AsyncSession, urn: str, case_id: uuid.UUID, *, actor: Actor, cursor: str | None, limit: int
) -> CaseReadPage:
    row = await require_case(session, urn, case_id, actor)
    after = decode_cursor(cursor, int64) if cursor else None
    rows = await case_repository.reads(session, row.id, after=after, limit=limit + 1)
    last = rows[limit - 1] if len(rows) > limit else None
    return CaseReadPage(
        items=[CaseReadOut(reader=r.reader, role=r.role, what=r.what, read_at=r.read_at) for r in rows[:limit]],
        next_cursor=str(last.id) if last else None,
    )
