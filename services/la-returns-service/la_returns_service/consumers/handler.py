"""Schools, calendars and the admission register, per LA, from the register's events; one
fold per batch and one bulk write per table. Marks are not kept here: runs of absence and
spells of illness come from analytics, which holds every mark."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.erasure import apply_in_order
from attendance_shared.events import (
    Event,
    PartTimeTimetableSetV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    PupilUpdatedV1,
    SchoolCalendarSetV1,
    SchoolUpsertedV1,
)
from attendance_shared.rules.calendar import calendar_from_values
from la_returns_service.repository import store
from la_returns_service.settings import SERVICE_NAME


def first_and_last_school_day(data: SchoolCalendarSetV1) -> tuple[date, date] | None:
    """The year's first and last days with pupils: an INSET day opening the term is not the
    first day of the school year for the reception exemption."""
    calendar = calendar_from_values(
        data.academic_year, [t.model_dump() for t in data.terms], [c.model_dump() for c in data.closures]
    )
    days = calendar.school_days(min(t.start for t in data.terms), max(t.end for t in data.terms)) if data.terms else []
    return (days[0], days[-1]) if days else None


def pupil_row(data: PupilAdmittedV1, event: Event) -> dict:
    return {
        "school_urn": data.school_urn,
        "upn": data.upn,
        "la_code": data.la_code,
        "legal_surname": data.legal_surname,
        "legal_forename": data.legal_forename,
        "date_of_birth": data.date_of_birth,
        "year_group": data.year_group,
        "admission_date": data.admission_date,
        "record": data.model_dump(mode="json", exclude={"effective_from"}),
        "recorded_at": event.time,
    }


def part_time_row(data: PartTimeTimetableSetV1) -> dict:
    return {
        "timetable_id": data.timetable_id,
        "school_urn": data.school_urn,
        "upn": data.upn,
        "la_code": data.la_code,
        "version": data.version,
        "timetable": data.model_dump(mode="json"),
        "start_date": data.start_date,
        "last_day": data.ended_on or data.end_date,
    }


async def handle(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    """Apply a batch the consumer's inbox has already cleared of events applied before (so a
    duplicate admission delivered after an update cannot put back the older record)."""
    await apply_in_order(session, events, _apply, store.remove_pupils, service=SERVICE_NAME)


async def _apply(session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
    schools: dict[str, dict] = {}
    years: dict[tuple[str, int], dict] = {}
    for _, event in events:
        data = event.data
        if isinstance(data, SchoolUpsertedV1):
            schools[data.urn] = {"urn": data.urn, "la_code": data.la_code, "name": data.name}
        elif isinstance(data, SchoolCalendarSetV1) and (days := first_and_last_school_day(data)):
            years[(data.school_urn, data.academic_year)] = {
                "school_urn": data.school_urn,
                "academic_year": data.academic_year,
                "first_day": days[0],
                "last_day": days[1],
                "terms": [
                    {"name": t.name, "start": t.start.isoformat(), "end": t.end.isoformat()}
                    for t in sorted(data.terms, key=lambda t: t.start)
                ],
            }
    await store.upsert_schools(session, list(schools.values()))
    await store.upsert_school_years(session, list(years.values()))
    # Folded per enrolment in delivery order (one pupil's events share a partition): the last
    # record wins, an admission clears an earlier deletion of the same enrolment, and the
    # deletions land after both, each on the enrolment begun by its leaving day.
    admitted: dict[tuple[str, str, date], dict] = {}
    updated: dict[tuple[str, str, date], dict] = {}
    deleted: list[dict] = []
    for _, event in events:
        data = event.data
        if isinstance(data, PupilAdmittedV1):
            key = (data.school_urn, data.upn, data.admission_date)
            row = pupil_row(data, event)
            if isinstance(data, PupilUpdatedV1):
                if key in admitted:  # keeps when the admission itself was recorded
                    admitted[key] = {
                        **row,
                        "recorded_at": admitted[key]["recorded_at"],
                        "left_on": None,
                        "deletion": None,
                    }
                else:
                    updated[key] = row
            else:
                admitted[key] = {**row, "left_on": None, "deletion": None}
                updated.pop(key, None)
        elif isinstance(data, PupilDeletedV1):
            deleted.append(
                {
                    "school_urn": data.school_urn,
                    "upn": data.upn,
                    "left_on": data.left_on,
                    "deletion": data.model_dump(mode="json"),
                }
            )
    timetables = [part_time_row(e.data) for _, e in events if isinstance(e.data, PartTimeTimetableSetV1)]
    await store.save_part_time_timetables(session, timetables)
    await store.upsert_pupils(session, list(admitted.values()), admitted=True)
    await store.upsert_pupils(session, list(updated.values()), admitted=False)
    await store.record_deletions(session, deleted)
