"""Schools, calendars and pupils from the register's events; risk flags from analytics'; the
outcomes of the letters notification-service sends about a case.

A raised flag may suggest a case (never open one) and, at the penalty-notice threshold,
makes the entry that says a notice must be considered. Marks are kept for pupils with an
open case only: the Notice-to-Improve check reads them."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.erasure import apply_in_order
from attendance_shared.events import (
    Event,
    NotificationOutcomeV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    PupilUpdatedV1,
    RiskFlagChangedV1,
    RiskFlagRaisedV1,
    SchoolCalendarSetV1,
    SchoolUpsertedV1,
    latest_revisions,
    session_marks,
)
from attendance_shared.rules.support import PENALTY_CONSIDERATION_FLAG, on_flag_raised
from support_service.repository import erasure, legal, projections, suggestions
from support_service.service.cases import log_letters
from support_service.settings import SERVICE_NAME


def pupil_row(data: PupilAdmittedV1) -> dict:
    return {
        "school_urn": data.school_urn,
        "upn": data.upn,
        "la_code": data.la_code,
        "legal_surname": data.legal_surname,
        "legal_forename": data.legal_forename,
        "year_group": data.year_group,
        "admission_date": data.admission_date,
        "left_on": None,
        "record": data.model_dump(mode="json", include={"contacts", "social_worker", "virtual_school_contact"}),
    }


async def handle(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    """Apply a batch the inbox has cleared of events applied before."""
    await apply_in_order(session, events, _apply, erasure.remove_pupils, service=SERVICE_NAME)


async def _apply(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    schools = {e.data.urn: e.data for _, e in events if isinstance(e.data, SchoolUpsertedV1)}
    await projections.upsert_schools(
        session, [{"urn": d.urn, "la_code": d.la_code, "name": d.name} for d in schools.values()]
    )
    calendars = {
        (e.data.school_urn, e.data.academic_year): e.data.stored_row()
        for _, e in events
        if isinstance(e.data, SchoolCalendarSetV1)
    }
    await projections.save_calendars(session, list(calendars.values()))
    await _pupils(session, events)
    await _flags(session, [e for _, e in events if isinstance(e.data, RiskFlagChangedV1)])
    marks = latest_revisions(session_marks(e.data for _, e in events))
    await legal.save_marks(session, [m.stored_row() for m in marks.values()])
    # Letters notification-service sent about a case: each in the case's chronology.
    await log_letters(session, [e.data for _, e in events if isinstance(e.data, NotificationOutcomeV1)])


async def _pupils(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    # One pupil's events share a partition, so delivery order is the register's order: the
    # last record wins, and an admission starts the enrolment afresh.
    admitted: dict[tuple[str, str], dict] = {}
    updated: dict[tuple[str, str], dict] = {}
    deleted: list[dict] = []
    for _, event in events:
        data = event.data
        if isinstance(data, PupilAdmittedV1):
            key = (data.school_urn, data.upn)
            if isinstance(data, PupilUpdatedV1) and key not in admitted:
                updated[key] = pupil_row(data)
            elif isinstance(data, PupilUpdatedV1):
                admitted[key] = {**pupil_row(data), "left_on": admitted[key]["left_on"]}
            else:
                admitted[key] = pupil_row(data)
                updated.pop(key, None)
        elif isinstance(data, PupilDeletedV1):
            key = (data.school_urn, data.upn)
            if key in admitted and admitted[key]["admission_date"] <= data.left_on:
                admitted[key]["left_on"] = data.left_on
            else:
                deleted.append({"school_urn": data.school_urn, "upn": data.upn, "left_on": data.left_on})
    await projections.upsert_pupils(session, list(admitted.values()), admitted=True)
    await projections.upsert_pupils(
        session, [{k: v for k, v in r.items() if k != "left_on"} for r in updated.values()], admitted=False
    )
    await projections.record_deletions(session, deleted)


async def _flags(session: AsyncSession, events: Sequence[Event]) -> None:
    latest: dict[tuple[str, str, str], Event] = {}
    for event in events:
        data: RiskFlagChangedV1 = event.data  # type: ignore[assignment]
        key = (data.school_urn, data.upn, data.flag)
        if key not in latest or latest[key].time <= event.time:
            latest[key] = event
    await projections.save_flags(
        session,
        [
            {
                "school_urn": e.data.school_urn,
                "upn": e.data.upn,
                "flag": e.data.flag,
                "academic_year": e.data.academic_year,
                "active": isinstance(e.data, RiskFlagRaisedV1),
                "as_of": e.data.as_of,
                "overall_absence_rate": e.data.overall_absence_rate,
                "changed_at": e.time,
            }
            for e in latest.values()
        ],
    )
    raised = [e.data for e in events if isinstance(e.data, RiskFlagRaisedV1)]
    if not raised:
        return
    open_cases, pending, asked = await suggestions.states_of(
        session, [(d.school_urn, d.upn) for d in raised], [d.academic_year for d in raised]
    )
    for data in raised:
        key = (data.school_urn, data.upn)
        year_key = (data.school_urn, data.upn, data.academic_year)
        waiting = pending.get(key)
        decision = on_flag_raised(
            data.flag,
            case_open=key in open_cases,
            pending_flags=frozenset(waiting[1]) if waiting is not None else None,
            flags_suggested_this_year=frozenset(asked.get(year_key, ())),
        )
        if decision.action == "add" and waiting is not None:
            await suggestions.add_flag(session, waiting[0], data.flag)
            waiting[1].append(data.flag)
        elif decision.action == "new":
            suggestion_id = uuid.uuid4()
            await suggestions.add(
                session,
                {
                    "id": suggestion_id,
                    "school_urn": data.school_urn,
                    "upn": data.upn,
                    "la_code": data.la_code,
                    "academic_year": data.academic_year,
                    "flags": [data.flag],
                    "status": "pending",
                },
            )
            pending[key] = (suggestion_id, [data.flag])
        asked.setdefault(year_key, set()).add(data.flag)
        if data.flag == PENALTY_CONSIDERATION_FLAG:
            evidence = data.evidence.model_dump(mode="json") if data.evidence else {}
            await suggestions.add_consideration(
                session,
                {
                    "id": uuid.uuid4(),
                    "school_urn": data.school_urn,
                    "upn": data.upn,
                    "la_code": data.la_code,
                    "reached_on": data.evidence.reached_on if data.evidence else None,
                    "evidence": {**evidence, "absent_sessions": data.absent_sessions, "as_of": data.as_of.isoformat()},
                    "status": "pending",
                },
            )
