"""Part-time timetables (C2): temporary, time-limited, agreed with the parents, reviewed. The
sessions a pupil is not timetabled for become planned C2 marks; an extension plans more, an
early end withdraws those after it. Every version is kept and published (without free text),
so analytics can flag overdue reviews and la-returns can return every timetable to the LA."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import cursors, topics
from attendance_shared.auth import Actor
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import PartTimeTimetableSetV1
from attendance_shared.rules.calendar import Calendar
from attendance_shared.rules.leave import PART_TIME_CODE, school_weeks_end, timetable_absences
from attendance_shared.rules.thresholds import PART_TIME_FIRST_REVIEW_SCHOOL_WEEKS, PART_TIME_MAX_SCHOOL_WEEKS
from register_service.repository import marks as mark_repository
from register_service.repository import part_time as timetable_repository
from register_service.repository import planned_marks as planned_repository
from register_service.schemas import (
    PartTimeTimetableChangeIn,
    PartTimeTimetableIn,
    PartTimeTimetableOut,
    PartTimeTimetablePage,
    PartTimeTimetableVersion,
)
from register_service.service.events import publish_pupil_events
from register_service.service.schools import calendars_between, require_pupil, require_school

# School weeks are counted over at most this many days ahead (a year and a bit of holidays).
HORIZON_DAYS = 400


async def _calendar(session: AsyncSession, urn: str, start: date) -> Calendar:
    return await calendars_between(session, urn, start, start + timedelta(days=HORIZON_DAYS))


async def _plan(
    session: AsyncSession, row: Row, calendar: Calendar, first: date, last: date, *, planned_by: str
) -> int:
    """Planned C2 for each open session from `first` to `last` the pupil is not timetabled for,
    except sessions already marked and sessions another plan (an agreed leave) already covers.
    A timetable recorded after it began plans the past sessions whose register has not yet
    been taken for the pupil: when the school completes that register, the C2 stands."""
    if last < first:
        return 0
    absences = timetable_absences(calendar, first, last, row.attended_sessions)
    if not absences:
        return 0
    await mark_repository.lock_registers(session, [(row.school_urn, d, s) for d, s in absences])
    marked = await mark_repository.current_in_range(session, row.school_urn, [row.upn], first, last)
    covered = {(m.date, m.session) for m in marked}
    covered |= set(await planned_repository.standing_for_pupil(session, row.school_urn, row.upn, absences))
    sessions = [s for s in absences if s not in covered]
    return await planned_repository.add(
        session, row.school_urn, row.upn, sessions, PART_TIME_CODE, planned_by=planned_by, timetable_id=row.id
    )


def _record(row: Row) -> dict[str, Any]:
    return PartTimeTimetableOut.model_validate(
        {**row._asdict(), "review_overdue": False, "past_end": False, "planned_sessions": 0}
    ).model_dump(mode="json", exclude={"review_overdue", "past_end", "planned_sessions"})


async def _publish(session: AsyncSession, la_code: str, row: Row, *, change: str, recorded_by: str) -> None:
    await timetable_repository.add_version(session, row, change=change, recorded_by=recorded_by, record=_record(row))
    reviews = [date.fromisoformat(r["held_on"]) for r in row.reviews]
    event = PartTimeTimetableSetV1(
        school_urn=row.school_urn,
        la_code=la_code,
        upn=row.upn,
        timetable_id=row.id,
        version=row.version,
        reason=row.reason,
        attended_sessions=tuple(row.attended_sessions),
        start_date=row.start_date,
        end_date=row.end_date,
        next_review_on=row.next_review_on,
        last_reviewed_on=max(reviews) if reviews else None,
        extensions=len(row.extensions),
        parents_consent_on=date.fromisoformat(row.parents_consent["given_on"]) if row.parents_consent else None,
        la_notified_on=row.la_notified_on,
        social_worker_told=row.social_worker_told,
        virtual_school_told=row.virtual_school_told,
        status=row.status,
        ended_on=row.ended_on,
    )
    await publish_pupil_events(session, topics.PUPILS, [event])


async def _out(session: AsyncSession, rows: list[Row], today: date) -> list[PartTimeTimetableOut]:
    counts = await planned_repository.standing_counts_by_timetable(session, [r.id for r in rows])
    return [
        PartTimeTimetableOut.model_validate(
            {
                **r._asdict(),
                "review_overdue": r.status == "active" and r.next_review_on is not None and r.next_review_on < today,
                "past_end": r.status == "active" and r.end_date < today,
                "planned_sessions": counts.get(r.id, 0),
            }
        )
        for r in rows
    ]


async def _timetable(
    session: AsyncSession, urn: str, upn: str, timetable_id: uuid.UUID, *, for_update: bool = False
) -> Row:
    row = await timetable_repository.get(session, urn, timetable_id, for_update=for_update)
    if row is None or row.upn != upn:
        raise NotFound(f"part-time timetable {timetable_id} not found")
    return row


async def create(
    session: AsyncSession, urn: str, upn: str, body: PartTimeTimetableIn, *, actor: Actor, today: date
) -> PartTimeTimetableOut:
    school = await require_school(session, urn)
    pupil = await require_pupil(session, urn, upn)
    if pupil.left_on is not None or body.start_date < pupil.admission_date:
        raise Unprocessable.of_field("start_date", "the pupil is not on the school's roll then")
    if len(set(body.attended_sessions)) != len(body.attended_sessions):
        raise Unprocessable.of_field("attended_sessions", "names a session twice")
    if body.end_date is not None and body.end_date < body.start_date:
        raise Unprocessable.of_field("end_date", "is before start_date")
    calendar = await _calendar(session, urn, body.start_date)
    longest = school_weeks_end(calendar, body.start_date, PART_TIME_MAX_SCHOOL_WEEKS)
    if longest is None:
        raise Unprocessable.of_field("start_date", "the school has no school day from then")
    end = body.end_date or longest
    if end > longest:
        raise Unprocessable.of_field(
            "end_date",
            f"a part-time timetable ends within {PART_TIME_MAX_SCHOOL_WEEKS} school weeks (by {longest.isoformat()}); "
            "extend it later, with the reason, if it must run longer",
        )
    first_review = body.first_review_on or min(
        school_weeks_end(calendar, body.start_date, PART_TIME_FIRST_REVIEW_SCHOOL_WEEKS) or end, end
    )
    if not body.start_date <= first_review <= end:
        raise Unprocessable.of_field("first_review_on", "must fall within the timetable")
    if clash := await timetable_repository.overlapping(session, urn, upn, body.start_date, end):
        raise Unprocessable.of_field(
            "start_date",
            f"overlaps part-time timetable {clash.id} ({clash.start_date} to {clash.ended_on or clash.end_date})",
        )
    values = body.model_dump(exclude={"end_date", "first_review_on", "parents_consent"})
    row = await timetable_repository.add(
        session,
        {
            "id": uuid.uuid4(),
            "school_urn": urn,
            "upn": upn,
            "version": 1,
            **values,
            "end_date": end,
            "next_review_on": first_review,
            "parents_consent": body.parents_consent.model_dump(mode="json") if body.parents_consent else None,
            "created_by": actor.subject,
            "updated_by": actor.subject,
        },
    )
    await _plan(session, row, calendar, body.start_date, end, planned_by=actor.subject)
    await _publish(session, school.la_code, row, change="agreed", recorded_by=actor.subject)
    return (await _out(session, [row], today))[0]


async def change(
    session: AsyncSession,
    urn: str,
    upn: str,
    timetable_id: uuid.UUID,
    body: PartTimeTimetableChangeIn,
    *,
    actor: Actor,
    today: date,
) -> PartTimeTimetableOut:
    school = await require_school(session, urn)
    row = await _timetable(session, urn, upn, timetable_id, for_update=True)
    if row.status != "active":
        raise Conflict(f"part-time timetable {timetable_id} ended on {row.ended_on}; agree a new one instead")
    calendar = await _calendar(session, urn, row.start_date)
    values: dict[str, Any] = {"updated_by": actor.subject}
    what: list[str] = []
    end = row.end_date
    if body.extend_to is not None:
        if body.extend_to <= row.end_date:
            raise Unprocessable.of_field("extend_to", f"must be after the current end date, {row.end_date}")
        entry = {
            "previous_end": row.end_date.isoformat(),
            "new_end": body.extend_to.isoformat(),
            "reason": body.extension_reason,
            "recorded_by": actor.subject,
        }
        values |= {"end_date": body.extend_to, "extensions": [*row.extensions, entry]}
        end = body.extend_to
        what.append("extended")
    if body.review_held_on is not None:
        if body.review_held_on > today:
            raise Unprocessable.of_field("review_held_on", "is in the future: record a review once it is held")
        if body.review_held_on < row.start_date:
            raise Unprocessable.of_field("review_held_on", "is before the timetable started")
        review = {"held_on": body.review_held_on.isoformat(), "notes": body.review_notes, "recorded_by": actor.subject}
        following = school_weeks_end(calendar, body.review_held_on + timedelta(days=1), 2)
        values |= {"reviews": [*row.reviews, review], "next_review_on": body.next_review_on or following}
        what.append("reviewed")
    elif body.next_review_on is not None:
        values["next_review_on"] = body.next_review_on
        what.append("review set")
    if body.parents_consent is not None:
        values["parents_consent"] = body.parents_consent.model_dump(mode="json")
        what.append("consent recorded")
    for field in ("social_worker_told", "virtual_school_told", "la_notified_on"):
        if (value := getattr(body, field)) is not None:
            values[field] = value
            what.append(field.replace("_", " "))
    if body.end_on is not None:
        if not row.start_date <= body.end_on <= end:
            raise Unprocessable.of_field("end_on", f"must fall within the timetable ({row.start_date} to {end})")
        values |= {"status": "ended", "ended_on": body.end_on, "end_reason": body.end_reason}
        what.append("ended")
    changed = await timetable_repository.change(session, row.id, values)
    if body.extend_to is not None:
        after_end = row.end_date + timedelta(days=1)
        await _plan(session, changed, calendar, after_end, body.extend_to, planned_by=actor.subject)
    if body.end_on is not None:
        await planned_repository.withdraw(session, timetable_id=row.id, after=body.end_on)
    await _publish(session, school.la_code, changed, change=", ".join(what), recorded_by=actor.subject)
    return (await _out(session, [changed], today))[0]


async def end_on_leaving(session: AsyncSession, school: Row, upn: str, left_on: date, *, ended_by: str) -> None:
    """A pupil deleted from the register: their timetable ends with their stay."""
    for row in await timetable_repository.active_of_pupil(session, school.urn, upn, for_update=True):
        ended_on = max(min(left_on, row.end_date), row.start_date)
        values = {"status": "ended", "ended_on": ended_on, "end_reason": "the pupil left the school"}
        changed = await timetable_repository.change(session, row.id, {**values, "updated_by": ended_by})
        await _publish(session, school.la_code, changed, change="ended: pupil left", recorded_by=ended_by)


async def get(session: AsyncSession, urn: str, upn: str, timetable_id: uuid.UUID, today: date) -> PartTimeTimetableOut:
    row = await _timetable(session, urn, upn, timetable_id)
    return (await _out(session, [row], today))[0]


async def versions(
    session: AsyncSession, urn: str, upn: str, timetable_id: uuid.UUID
) -> list[PartTimeTimetableVersion]:
    row = await _timetable(session, urn, upn, timetable_id)
    return [
        PartTimeTimetableVersion.model_validate(v._asdict())
        for v in await timetable_repository.versions(session, row.id)
    ]


def _decode_cursor(cursor: str) -> tuple[str, date, uuid.UUID]:
    def parse(text: str) -> tuple[str, date, uuid.UUID]:
        urn, day, timetable_id = text.split("_")
        if not (urn.isdigit() and len(urn) <= 8):
            raise ValueError(f"{urn!r} is not a URN")
        return urn, cursors.day(day), cursors.uuid_of(timetable_id)

    return cursors.decode_cursor(cursor, parse)


async def list_timetables(
    session: AsyncSession,
    *,
    urn: str | None = None,
    la_code: str | None = None,
    upn: str | None = None,
    status: str | None,
    attention: str | None,
    cursor: str | None,
    limit: int,
    today: date,
) -> PartTimeTimetablePage:
    if urn is not None:
        await require_school(session, urn)
    after = _decode_cursor(cursor) if cursor else None
    rows = await timetable_repository.page(
        session,
        urn=urn,
        la_code=la_code,
        upn=upn,
        status=status,
        attention=attention,
        today=today,
        after=after,
        limit=limit + 1,
    )
    last = rows[limit - 1] if len(rows) > limit else None
    return PartTimeTimetablePage(
        items=await _out(session, rows[:limit], today),
        next_cursor=f"{last.school_urn}_{last.start_date}_{last.id}" if last else None,
    )
