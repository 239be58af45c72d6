"""Every SQL statement of the notification service."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, exists, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import calendar_projection
from attendance_shared.db import chunked
from attendance_shared.erasure import of_pupils, remove_from
from attendance_shared.rules.calendar import SchoolCalendar, calendar_from_values
from notification_service.domain.policy import SchoolNotificationSettings, YearCalendars
from notification_service.domain.rules import PlannedMessage, Preference, PupilFacts, SchoolFacts
from notification_service.domain.templates import Template, TemplateKey
from notification_service.models import (
    absences,
    contact_preferences,
    delivery_attempts,
    messages,
    print_runs,
    pupil_circumstances,
    pupil_contacts,
    school_calendars,
    school_settings,
    schools,
    summary_batches,
    templates,
)

PupilKey = tuple[str, str]
# What a status change returns, so its outcome event is written in the same transaction.
OUTCOME_COLUMNS = (
    messages.c.id,
    messages.c.school_urn,
    messages.c.upn,
    messages.c.rule,
    messages.c.about_date,
    messages.c.session,
    messages.c.stage,
    messages.c.recipient_role,
    messages.c.contact_index,
    messages.c.channel,
    messages.c.recipient,
    messages.c.status,
    messages.c.failure_reason,
    messages.c.provider,
    messages.c.attempts,
    messages.c.resent_from,
)
CONTACT_COLUMNS = (
    "la_code",
    "forename",
    "contacts",
    "social_worker",
    "youth_offending_worker",
    "virtual_school_contact",
    "looked_after",
    "left_on",
    "surname",
    "date_of_birth",
    "sen_status",
    "address",
)


async def _upsert(session: AsyncSession, table: Any, keys: list[str], rows: Sequence[dict], columns: Sequence[str]):
    if not rows:
        return
    statement = insert(table)
    set_ = {c: statement.excluded[c] for c in columns}
    if "updated_at" in table.c:
        set_["updated_at"] = func.now()
    await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=set_), list(rows))


# --- projections -------------------------------------------------------------------------------


async def upsert_contacts(session: AsyncSession, rows: Sequence[dict], *, keep_left_on: bool = False) -> None:
    """With `keep_left_on` (a change to the record), a pupil who has left stays left."""
    columns = [c for c in CONTACT_COLUMNS if not (keep_left_on and c == "left_on")]
    await _upsert(session, pupil_contacts, ["school_urn", "upn"], rows, columns)


async def mark_left(session: AsyncSession, rows: Sequence[dict]) -> None:
    if rows:
        t = pupil_contacts
        await session.execute(
            update(t)
            .where(t.c.school_urn == bindparam("b_urn"), t.c.upn == bindparam("b_upn"))
            .values(left_on=bindparam("b_left_on")),
            [{"b_urn": r["school_urn"], "b_upn": r["upn"], "b_left_on": r["left_on"]} for r in rows],
        )


async def upsert_schools(session: AsyncSession, rows: Sequence[dict]) -> None:
    columns = ("la_code", "name", "am_register_closes", "pm_register_closes", "unexplained_absence_days")
    await _upsert(session, schools, ["urn"], rows, columns)


async def upsert_calendars(session: AsyncSession, rows: Sequence[dict]) -> None:
    await calendar_projection.upsert_calendars(session, school_calendars, rows)


async def save_absences(session: AsyncSession, rows: Sequence[dict]) -> list[Row]:
    """Store each session's code if its revision is newer than the one stored; returns the
    rows that changed, so a duplicate or stale event plans nothing."""
    if not rows:
        return []
    t = absences
    statement = insert(t)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn", "date", "session"],
        set_={"code": statement.excluded.code, "revision": statement.excluded.revision},
        where=t.c.revision < statement.excluded.revision,
    ).returning(t.c.school_urn, t.c.upn, t.c.date, t.c.session, t.c.code)
    return list((await session.execute(statement, list(rows))).all())


# --- facts the rules read ------------------------------------------------------------------------


def calendar_from_row(row: Row) -> SchoolCalendar:
    return calendar_from_values(row.academic_year, row.terms, row.closures)


async def school_calendars_of(session: AsyncSession, urn: str) -> list[SchoolCalendar]:
    t = school_calendars
    rows = await session.execute(select(t).where(t.c.school_urn == urn).order_by(t.c.academic_year))
    return [calendar_from_row(row) for row in rows]


async def calendars_for(session: AsyncSession, urns: set[str]) -> dict[str, YearCalendars]:
    found: dict[str, dict[int, SchoolCalendar]] = {urn: {} for urn in urns}
    if urns:
        rows = await session.execute(select(school_calendars).where(school_calendars.c.school_urn.in_(list(urns))))
        for row in rows:
            found[row.school_urn][row.academic_year] = calendar_from_row(row)
    return {urn: YearCalendars(calendars) for urn, calendars in found.items()}


async def school_settings_of(session: AsyncSession, urn: str) -> SchoolNotificationSettings:
    stored = await session.scalar(select(school_settings.c.settings).where(school_settings.c.school_urn == urn))
    return SchoolNotificationSettings.model_validate(stored or {})


async def put_school_settings(session: AsyncSession, urn: str, settings: SchoolNotificationSettings) -> None:
    await _upsert(
        session, school_settings, ["school_urn"], [{"school_urn": urn, "settings": settings.model_dump()}], ["settings"]
    )


async def school_facts(session: AsyncSession, urns: set[str]) -> dict[str, SchoolFacts]:
    """What the rules need of each school; a school not yet heard of gets the defaults."""
    if not urns:
        return {}
    urn_list = list(urns)
    known = {r.urn: r for r in await session.execute(select(schools).where(schools.c.urn.in_(urn_list)))}
    settings = {
        r.school_urn: SchoolNotificationSettings.model_validate(r.settings)
        for r in await session.execute(select(school_settings).where(school_settings.c.school_urn.in_(urn_list)))
    }
    own: dict[str, dict[tuple[TemplateKey, str], Template]] = {urn: {} for urn in urns}
    for r in await session.execute(select(templates).where(templates.c.school_urn.in_(urn_list))):
        own[r.school_urn][(TemplateKey(r.template), r.language)] = Template(r.subject, r.body)
    facts = {}
    for urn in urns:
        school = known.get(urn)
        extra = (
            {
                "am_register_closes": school.am_register_closes,
                "pm_register_closes": school.pm_register_closes,
                "unexplained_absence_days": school.unexplained_absence_days,
            }
            if school
            else {}
        )
        facts[urn] = SchoolFacts(
            urn=urn,
            name=school.name if school else "the school",
            settings=settings.get(urn, SchoolNotificationSettings()),
            templates=own[urn],
            **extra,
        )
    return facts


async def pupil_facts(session: AsyncSession, pupils: set[PupilKey]) -> dict[PupilKey, PupilFacts]:
    if not pupils:
        return {}
    t, p = pupil_contacts, contact_preferences
    rows: list[Row] = []
    preferences: dict[PupilKey, dict[int, Preference]] = {}
    for part in chunked(list(pupils), 2):
        rows += (await session.execute(select(t).where(tuple_(t.c.school_urn, t.c.upn).in_(list(part))))).all()
        for r in await session.execute(select(p).where(tuple_(p.c.school_urn, p.c.upn).in_(list(part)))):
            preferences.setdefault((r.school_urn, r.upn), {})[r.contact_index] = Preference(r.channel, r.opted_out)
    return {
        (r.school_urn, r.upn): PupilFacts(
            school_urn=r.school_urn,
            upn=r.upn,
            forename=r.forename,
            contacts=tuple(r.contacts),
            preferences=preferences.get((r.school_urn, r.upn), {}),
            social_worker=r.social_worker,
            youth_offending_worker=r.youth_offending_worker,
            virtual_school_contact=r.virtual_school_contact,
            looked_after=r.looked_after,
            left_on=r.left_on,
            surname=r.surname,
            date_of_birth=r.date_of_birth,
            sen_status=r.sen_status,
            address=r.address,
        )
        for r in rows
    }


async def outstanding_unexplained(session: AsyncSession, since: date) -> list[Row]:
    """Pupil-days with an N still standing, with the latest chase stage and whether the lead
    was told: what the planner needs, in one statement."""
    a, m = absences, messages
    chased = (
        select(func.max(m.c.stage))
        .where(
            m.c.school_urn == a.c.school_urn,
            m.c.upn == a.c.upn,
            m.c.about_date == a.c.date,
            m.c.rule == "absence-chase",
        )
        .scalar_subquery()
    )
    lead_told = exists().where(
        m.c.school_urn == a.c.school_urn,
        m.c.upn == a.c.upn,
        m.c.about_date == a.c.date,
        m.c.rule == "unresolved-absence-lead",
    )
    query = (
        select(a.c.school_urn, a.c.upn, a.c.date, chased.label("chased"), lead_told.label("lead_told"))
        .where(a.c.code == "N", a.c.date >= since)
        .group_by(a.c.school_urn, a.c.upn, a.c.date)
    )
    return list((await session.execute(query)).all())


# --- messages ------------------------------------------------------------------------------------


def _message_row(p: PlannedMessage, now: datetime) -> dict:
    return {
        "idempotency_key": p.idempotency_key,
        "school_urn": p.school_urn,
        "upn": p.upn,
        "rule": p.rule,
        "about_date": p.about_date,
        "session": p.session,
        "stage": p.stage,
        "channel": p.channel,
        "recipient": p.recipient,
        "recipient_role": p.recipient_role,
        "contact_index": p.contact_index,
        "subject": p.subject,
        "body": p.body,
        "status": "undeliverable" if p.undeliverable_reason else "queued",
        "failure_reason": p.undeliverable_reason,
        "not_before": p.not_before or now,
        "language": p.language,
        "period": p.period,
    }


async def store_messages(session: AsyncSession, planned: Sequence[PlannedMessage], now: datetime) -> list[Row]:
    """Store planned messages. One already stored under the same key is left as it is, unless
    it was cancelled and its reason has come back (an N explained, then marked N again): then
    it is planned afresh, in the words and to the address of the absence that brought it back
    (a first-day alert's key names the day, so a morning's alert may return for the afternoon).
    Returns each message stored or revived."""
    if not planned:
        return []
    unique = {p.idempotency_key: p for p in planned}
    statement = insert(messages)
    replanned = ("status", "not_before", "failure_reason", "session", "channel", "recipient", "subject", "body")
    statement = statement.on_conflict_do_update(
        index_elements=["idempotency_key"],
        set_={column: statement.excluded[column] for column in replanned},
        where=messages.c.status == "cancelled",
    ).returning(*OUTCOME_COLUMNS)
    return list((await session.execute(statement, [_message_row(p, now) for p in unique.values()])).all())


async def active_first_day_alerts(session: AsyncSession, pupil_days: set[tuple[str, str, date]]) -> set[tuple]:
    """Pupil-days whose parents already have a first-day alert (not cancelled)."""
    if not pupil_days:
        return set()
    m = messages
    found = set()
    for part in chunked(list(pupil_days), 3):
        rows = await session.execute(
            select(m.c.school_urn, m.c.upn, m.c.about_date)
            .where(
                tuple_(m.c.school_urn, m.c.upn, m.c.about_date).in_(list(part)),
                m.c.rule == "first-day-absence",
                m.c.status != "cancelled",
            )
            .distinct()
        )
        found.update(tuple(r) for r in rows)
    return found


async def cancel_explained(session: AsyncSession, sessions: Sequence[tuple[str, str, date, str]]) -> list[Row]:
    """Cancel queued messages that an amended mark made moot: N-follow-ups of a pupil-day with
    no N left, and worker notices of a session no longer unauthorised."""
    if not sessions:
        return []
    m, a = messages, absences
    pupil_days = list({(urn, upn, day) for urn, upn, day, _ in sessions})
    no_n_left = ~exists().where(
        a.c.school_urn == m.c.school_urn, a.c.upn == m.c.upn, a.c.date == m.c.about_date, a.c.code == "N"
    )
    still_unauthorised = exists().where(
        a.c.school_urn == m.c.school_urn,
        a.c.upn == m.c.upn,
        a.c.date == m.c.about_date,
        a.c.session == m.c.session,
        a.c.code.in_(["G", "N", "O", "U"]),
    )
    cancelled: list[Row] = []
    for part in chunked(pupil_days, 3):
        result = await session.execute(
            update(m)
            .where(
                m.c.status == "queued",
                tuple_(m.c.school_urn, m.c.upn, m.c.about_date).in_(list(part)),
                (m.c.rule.in_(["first-day-absence", "absence-chase", "unresolved-absence-lead"]) & no_n_left)
                | ((m.c.rule == "worker-absence-notice") & ~still_unauthorised),
            )
            .values(status="cancelled", failure_reason="the absence was explained before this was sent")
            .returning(*OUTCOME_COLUMNS)
        )
        cancelled += result.all()
    return cancelled


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[Row]:
    """Queued messages due by `now`, locked so that another dispatcher skips them. Letters
    wait for staff to take the day's print run instead."""
    t = messages
    query = (
        select(t)
        .where(t.c.status == "queued", t.c.not_before <= now, t.c.channel != "post")
        .order_by(t.c.not_before, t.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def hold_until(session: AsyncSession, ids: Sequence[int], not_before: datetime) -> None:
    if ids:
        await session.execute(update(messages).where(messages.c.id.in_(ids)).values(not_before=not_before))


async def mark_sending(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Committed before the provider is called: a crash mid-send leaves the message 'sending',
    never 'queued', so a restart cannot send it a second time."""
    if ids:
        await session.execute(
            update(messages)
            .where(messages.c.id.in_(ids))
            .values(status="sending", claimed_at=now, attempts=messages.c.attempts + 1)
        )


async def record_outcome(
    session: AsyncSession,
    message_id: int,
    *,
    status: str,
    provider: str,
    outcome: str,
    detail: str | None = None,
    reference: str | None = None,
    not_before: datetime | None = None,
) -> Row:
    values: dict[str, Any] = {"status": status, "provider": provider}
    if status in ("sent", "delivered"):
        values |= {"sent_at": func.now(), "failure_reason": None, "provider_reference": reference}
        if status == "delivered":
            values["delivered_at"] = func.now()
    else:
        values["failure_reason"] = detail
    if not_before is not None:
        values["not_before"] = not_before
    changed = await session.execute(
        update(messages).where(messages.c.id == message_id).values(**values).returning(*OUTCOME_COLUMNS)
    )
    await session.execute(
        insert(delivery_attempts).values(message_id=message_id, provider=provider, outcome=outcome, detail=detail)
    )
    return changed.one()


async def release_unsent(session: AsyncSession, ids: Sequence[int], not_before: datetime) -> None:
    """Messages claimed but not tried (their channel is failing): queued again, attempt not counted."""
    if ids:
        await session.execute(
            update(messages)
            .where(messages.c.id.in_(ids))
            .values(status="queued", not_before=not_before, attempts=messages.c.attempts - 1)
        )


INTERRUPTED_REASON = "interrupted while being handed to the provider; check, then resend"


async def fail_interrupted(session: AsyncSession, claimed_before: datetime) -> list[Row]:
    """'sending' long after any provider call could last: the process stopped mid-send. Whether
    the provider took it is unknown, so it is failed for staff to check and resend, not retried."""
    result = await session.execute(
        update(messages)
        .where(messages.c.status == "sending", messages.c.claimed_at < claimed_before)
        .values(status="failed", failure_reason=INTERRUPTED_REASON)
        .returning(*OUTCOME_COLUMNS)
    )
    return list(result.all())


async def awaiting_delivery_report(session: AsyncSession, provider: str, sent_after: datetime, limit: int) -> list[Row]:
    t = messages
    query = (
        select(t.c.id, t.c.provider_reference)
        .where(t.c.status == "sent", t.c.provider == provider, t.c.sent_at > sent_after)
        .order_by(t.c.id)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def set_delivery_status(session: AsyncSession, message_id: int, status: str, reason: str | None) -> Row | None:
    values: dict[str, Any] = {"status": status, "failure_reason": reason}
    if status == "delivered":
        values["delivered_at"] = func.now()
    changed = await session.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status == "sent")
        .values(**values)
        .returning(*OUTCOME_COLUMNS)
    )
    return changed.first()


# --- API queries ---------------------------------------------------------------------------------


async def page(
    session: AsyncSession,
    school_urn: str,
    *,
    upn: str | None,
    status: str | None,
    rule: str | None = None,
    after_id: int | None,
    limit: int,
) -> list[Row]:
    t = messages
    query = select(t).where(t.c.school_urn == school_urn).order_by(t.c.id).limit(limit)
    if upn:
        query = query.where(t.c.upn == upn)
    if status:
        query = query.where(t.c.status == status)
    if rule:
        query = query.where(t.c.rule == rule)
    if after_id:
        query = query.where(t.c.id > after_id)
    return list((await session.execute(query)).all())


async def message(session: AsyncSession, school_urn: str, message_id: int) -> Row | None:
    t = messages
    return (await session.execute(select(t).where(t.c.school_urn == school_urn, t.c.id == message_id))).first()


async def attempts_of(session: AsyncSession, message_id: int) -> list[Row]:
    t = delivery_attempts
    query = select(t.c.attempted_at, t.c.provider, t.c.outcome, t.c.detail).where(t.c.message_id == message_id)
    return list((await session.execute(query.order_by(t.c.id))).all())


async def resend_count(session: AsyncSession, message_id: int) -> int:
    return await session.scalar(select(func.count()).where(messages.c.resent_from == message_id)) or 0


async def insert_resend(session: AsyncSession, original: Row, planned: PlannedMessage, now: datetime) -> int:
    row = _message_row(planned, now) | {"resent_from": original.id}
    return await session.scalar(insert(messages).values(**row).returning(messages.c.id))


async def preferences(session: AsyncSession, urn: str, upn: str) -> dict[int, Row]:
    t = contact_preferences
    rows = await session.execute(select(t).where(t.c.school_urn == urn, t.c.upn == upn))
    return {r.contact_index: r for r in rows}


async def replace_preferences(session: AsyncSession, urn: str, upn: str, rows: Sequence[dict]) -> None:
    t = contact_preferences
    await session.execute(delete(t).where(t.c.school_urn == urn, t.c.upn == upn))
    if rows:
        await session.execute(insert(t), [{"school_urn": urn, "upn": upn, **r} for r in rows])


async def pupil_contacts_of(session: AsyncSession, urn: str, upn: str) -> Row | None:
    t = pupil_contacts
    return (await session.execute(select(t).where(t.c.school_urn == urn, t.c.upn == upn))).first()


async def school_templates(session: AsyncSession, urn: str) -> dict[tuple[str, str], Row]:
    rows = await session.execute(select(templates).where(templates.c.school_urn == urn))
    return {(r.template, r.language): r for r in rows}


async def put_template(session: AsyncSession, urn: str, key: str, language: str, subject: str, body: str) -> None:
    row = {"school_urn": urn, "template": key, "language": language, "subject": subject, "body": body}
    await _upsert(session, templates, ["school_urn", "template", "language"], [row], ["subject", "body"])


async def delete_template(session: AsyncSession, urn: str, key: str, language: str) -> None:
    t = templates
    await session.execute(delete(t).where(t.c.school_urn == urn, t.c.template == key, t.c.language == language))


async def uncontactable(session: AsyncSession, urn: str, *, after_upn: str | None, limit: int) -> list[Row]:
    """Recipients whose latest message could not be delivered, for pupils after `after_upn`,
    `limit` pupils at most."""
    t = messages
    latest = (
        select(
            t.c.upn,
            t.c.recipient_role,
            t.c.contact_index,
            t.c.channel,
            t.c.failure_reason,
            t.c.status,
            t.c.rule,
            t.c.about_date,
            t.c.id,
        )
        .where(t.c.school_urn == urn, t.c.upn > (after_upn or ""))
        .order_by(t.c.upn, t.c.recipient_role, t.c.contact_index, t.c.id.desc())
        .ext(distinct_on(t.c.upn, t.c.recipient_role, t.c.contact_index))
        .subquery()
    )
    is_failing = latest.c.status.in_(["undeliverable", "failed"])
    pupils = select(latest.c.upn).where(is_failing).distinct().order_by(latest.c.upn).limit(limit).subquery()
    query = select(latest).where(is_failing, latest.c.upn.in_(select(pupils.c.upn))).order_by(latest.c.upn, latest.c.id)
    return list((await session.execute(query)).all())


# --- circumstances ---------------------------------------------------------------------------------


async def set_long_sickness(session: AsyncSession, rows: Sequence[dict]) -> None:
    """rows: school_urn, upn, long_sickness (the latest flag event of the batch per pupil)."""
    await _upsert(session, pupil_circumstances, ["school_urn", "upn"], rows, ["long_sickness"])


async def set_support_cases(session: AsyncSession, rows: Sequence[dict]) -> None:
    """rows: school_urn, upn, support_case_open, support_case_change; a change older than the
    one stored (a case event redelivered late) leaves it as it is."""
    if not rows:
        return
    t = pupil_circumstances
    statement = insert(t)
    statement = statement.on_conflict_do_update(
        index_elements=["school_urn", "upn"],
        set_={
            "support_case_open": statement.excluded.support_case_open,
            "support_case_change": statement.excluded.support_case_change,
            "updated_at": func.now(),
        },
        where=t.c.support_case_change < statement.excluded.support_case_change,
    )
    await session.execute(statement, list(rows))


async def circumstances_of(session: AsyncSession, urn: str) -> dict[str, Row]:
    t = pupil_circumstances
    return {r.upn: r for r in await session.execute(select(t).where(t.c.school_urn == urn))}


# --- regular summaries ---------------------------------------------------------------------------


async def all_calendars(session: AsyncSession) -> dict[str, list[SchoolCalendar]]:
    """Every school's calendars, by URN: the schedule's one read of them a pass."""
    t = school_calendars
    found: dict[str, list[SchoolCalendar]] = {}
    for row in await session.execute(select(t).order_by(t.c.school_urn, t.c.academic_year)):
        found.setdefault(row.school_urn, []).append(calendar_from_row(row))
    return found


async def all_school_settings(session: AsyncSession) -> dict[str, SchoolNotificationSettings]:
    """The settings of every school that set any; the rest have the defaults."""
    rows = await session.execute(select(school_settings.c.school_urn, school_settings.c.settings))
    return {r.school_urn: SchoolNotificationSettings.model_validate(r.settings) for r in rows}


async def batches_since(session: AsyncSession, period_end_from: date) -> set[tuple[str, str]]:
    """(URN, period) of every batch begun for a period ending on or after the date."""
    t = summary_batches
    rows = await session.execute(select(t.c.school_urn, t.c.period).where(t.c.period_end >= period_end_from))
    return {(r.school_urn, r.period) for r in rows}


async def summary_batch(session: AsyncSession, urn: str, period: str) -> Row | None:
    t = summary_batches
    return (await session.execute(select(t).where(t.c.school_urn == urn, t.c.period == period))).first()


async def start_summary_batch(
    session: AsyncSession, urn: str, period: str, start: date, end: date, requested_by: str | None
) -> bool:
    """Record that a period's summaries are being planned; False when it already was started
    (by the schedule or a member of staff): a batch goes once."""
    statement = (
        insert(summary_batches)
        .values(school_urn=urn, period=period, period_start=start, period_end=end, requested_by=requested_by)
        .on_conflict_do_nothing()
        .returning(summary_batches.c.period)
    )
    return (await session.execute(statement)).first() is not None


async def unfinished_summary_batches(session: AsyncSession) -> list[Row]:
    t = summary_batches
    return list((await session.execute(select(t).where(t.c.finished_at.is_(None)))).all())


async def finish_summary_batch(session: AsyncSession, urn: str, period: str, pupils: int, planned: int) -> None:
    t = summary_batches
    await session.execute(
        update(t)
        .where(t.c.school_urn == urn, t.c.period == period)
        .values(finished_at=func.now(), pupils=pupils, messages=planned)
    )


async def summary_batches_of(session: AsyncSession, urn: str) -> list[Row]:
    t = summary_batches
    query = select(t).where(t.c.school_urn == urn).order_by(t.c.period_end.desc())
    return list((await session.execute(query)).all())


async def pupils_on_roll(session: AsyncSession, urn: str, on: date) -> list[str]:
    """Pupils on roll on `on` (not left before it), by UPN."""
    t = pupil_contacts
    query = (
        select(t.c.upn).where(t.c.school_urn == urn, (t.c.left_on.is_(None)) | (t.c.left_on >= on)).order_by(t.c.upn)
    )
    return list((await session.scalars(query)).all())


async def stored_summaries(session: AsyncSession, urn: str, period: str) -> int:
    t = messages
    query = select(func.count()).where(t.c.school_urn == urn, t.c.rule == "attendance-summary", t.c.period == period)
    return await session.scalar(query) or 0


# --- letters by post -----------------------------------------------------------------------------


async def letters_waiting(session: AsyncSession, urn: str, now: datetime) -> list[Row]:
    """Letters not yet printed, oldest first, locked so that two staff taking a print run at
    once cannot put a letter in both."""
    t = messages
    query = (
        select(t)
        .where(t.c.school_urn == urn, t.c.channel == "post", t.c.status == "queued", t.c.not_before <= now)
        .order_by(t.c.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def save_print_run(
    session: AsyncSession, urn: str, made_on: date, letters: int, pdf: bytes, checksum: str, made_by: str | None
) -> Row:
    statement = (
        insert(print_runs)
        .values(school_urn=urn, made_on=made_on, letters=letters, pdf=pdf, checksum=checksum, made_by=made_by)
        .returning(*PRINT_RUN_COLUMNS)
    )
    return (await session.execute(statement)).one()


async def mark_printed(session: AsyncSession, ids: Sequence[int], run_id: int) -> list[Row]:
    """Letters in a print run count as sent: the school posts them."""
    t = messages
    result = await session.execute(
        update(t)
        .where(t.c.id.in_(ids))
        .values(
            status="sent",
            provider="print-run",
            provider_reference=str(run_id),
            print_run_id=run_id,
            sent_at=func.now(),
            attempts=t.c.attempts + 1,
        )
        .returning(*OUTCOME_COLUMNS)
    )
    await session.execute(
        insert(delivery_attempts),
        [{"message_id": i, "provider": "print-run", "outcome": "sent", "detail": f"print run {run_id}"} for i in ids],
    )
    return list(result.all())


PRINT_RUN_COLUMNS = (
    print_runs.c.id,
    print_runs.c.school_urn,
    print_runs.c.made_on,
    print_runs.c.letters,
    print_runs.c.checksum,
    print_runs.c.made_by,
    print_runs.c.created_at,
)


async def print_runs_of(session: AsyncSession, urn: str, *, before_id: int | None, limit: int) -> list[Row]:
    t = print_runs
    query = select(*PRINT_RUN_COLUMNS).where(t.c.school_urn == urn).order_by(t.c.id.desc()).limit(limit)
    if before_id:
        query = query.where(t.c.id < before_id)
    return list((await session.execute(query)).all())


async def print_run(session: AsyncSession, urn: str, run_id: int, *, with_pdf: bool = False) -> Row | None:
    t = print_runs
    columns = (*PRINT_RUN_COLUMNS, t.c.pdf) if with_pdf else PRINT_RUN_COLUMNS
    return (await session.execute(select(*columns).where(t.c.school_urn == urn, t.c.id == run_id))).first()


async def remove_pupils(session: AsyncSession, removed_pupils: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Everything notification keeps of these pupils (removed from the register past its
    retention): their contacts, circumstances, preferences, absences, and every message to
    their parents with its delivery attempts. Messages about the school stay."""
    their_messages = select(messages.c.id).where(of_pupils(messages, removed_pupils))
    attempts = delete(delivery_attempts).where(delivery_attempts.c.message_id.in_(their_messages))
    removed = {"delivery_attempts": (await session.execute(attempts)).rowcount}
    tables = (messages, absences, contact_preferences, pupil_circumstances, pupil_contacts)
    return removed | await remove_from(session, tables, removed_pupils)
