"""The admission register: admissions, effective-dated changes and deletions on a
regulation-9 ground. Every version of a record is kept; each change is an event."""

from datetime import date

from pydantic import ValidationError
from sqlalchemy import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared import topics
from attendance_shared.clock import today_in_england
from attendance_shared.db import UNIQUE_VIOLATION, sqlstate_of
from attendance_shared.errors import Conflict, NotFound, Unprocessable
from attendance_shared.events import PupilAdmittedV1, PupilDeletedV1, PupilUpdatedV1
from register_service.domain.admission_rules import check_admission, readmission_problem, repeated_pupils
from register_service.domain.register_rules import RowError
from register_service.repository import marks as mark_repository
from register_service.repository import planned_marks as planned_repository
from register_service.repository import pupils as pupil_repository
from register_service.schemas import (
    AdmissionsIn,
    AdmissionsResult,
    DeletionIn,
    PupilHistory,
    PupilIn,
    PupilOut,
    PupilPage,
    PupilUpdateIn,
    PupilVersion,
)
from register_service.service import part_time
from register_service.service.events import publish_pupil_events
from register_service.service.schools import require_pupil, require_school

# Pupils a batch of admissions writes at a time (see `_enter`).
ADMISSIONS_PER_WRITE = 200
# The columns of a pupil's record that a version snapshots and an event carries.
RECORD_FIELDS = set(PupilAdmittedV1.model_fields) - {"school_urn", "la_code", "upn"}


async def admit(session: AsyncSession, urn: str, pupil: PupilIn, *, recorded_by: str) -> PupilOut:
    school = await require_school(session, urn)
    upn, problems = _checked(pupil, today_in_england())
    if problems:
        raise Unprocessable.of_fields(problems)
    assert upn is not None  # a UPN that did not validate is a problem
    entered = await pupil_repository.already_admitted(session, urn, [upn])
    if upn in entered and (problem := _readmission_problem(upn, urn, entered[upn], pupil)):
        field, message = problem
        if field == "upn":
            raise Conflict(message)
        raise Unprocessable.of_field(field, message)
    await _enter(session, school, [(upn, pupil)], returning=set(entered), recorded_by=recorded_by)
    return PupilOut(school_urn=urn, upn=upn, **pupil.model_dump(exclude={"upn"}))  # just written: not read back


async def admit_many(session: AsyncSession, urn: str, batch: AdmissionsIn, *, recorded_by: str) -> AdmissionsResult:
    """Enter every pupil of `batch` on the admission register, or none: each refused row is
    named by its index, whether it is invalid, repeats an earlier row or is already entered."""
    school = await require_school(session, urn)
    today = today_in_england()
    checked = [_checked(pupil, today) for pupil in batch.pupils]
    upns = [upn for upn, _ in checked]
    errors = [
        RowError(index, field, message) for index, (_, problems) in enumerate(checked) for field, message in problems
    ]
    errors += repeated_pupils(upns)
    entered = await pupil_repository.already_admitted(session, urn, [u for u in upns if u is not None])
    errors += [
        RowError(index, *problem)
        for index, (upn, pupil) in enumerate(zip(upns, batch.pupils, strict=True))
        if upn in entered and (problem := _readmission_problem(upn, urn, entered[upn], pupil))
    ]
    if errors:
        errors.sort(key=lambda e: e.index)
        raise Unprocessable.of_rows(
            [e.as_dict() for e in errors], total=len(batch.pupils), what="admissions are refused"
        )
    admissions = [(upn, pupil) for upn, pupil in zip(upns, batch.pupils, strict=True) if upn is not None]
    await _enter(session, school, admissions, returning=set(entered), recorded_by=recorded_by)
    return AdmissionsResult(school_urn=urn, admitted=len(admissions), upns=[upn for upn, _ in admissions])


def _readmission_problem(upn: str, urn: str, latest: Row, pupil: PupilIn) -> tuple[str, str] | None:
    return readmission_problem(upn, urn, left_on=latest.left_on, admission_date=pupil.admission_date)


def _checked(pupil: PupilIn, today: date) -> tuple[str | None, list[tuple[str, str]]]:
    return check_admission(
        pupil.upn, admission_date=pupil.admission_date, date_of_birth=pupil.date_of_birth, today=today
    )


async def _enter(
    session: AsyncSession,
    school: Row,
    admissions: list[tuple[str, PupilIn]],
    *,
    returning: set[str],
    recorded_by: str,
) -> None:
    """Insert the pupils (or, for those `returning` after a deletion, enter them again) with
    an enrolment, a version and an event each, or refuse them all if one is already on the
    register. A slice at a time: what each pupil becomes on the way (rows, record, event) is
    about 10 kB, and a whole roll of it at once would stay in the process's memory long after
    the request."""
    for start in range(0, len(admissions), ADMISSIONS_PER_WRITE):
        part = admissions[start : start + ADMISSIONS_PER_WRITE]
        await _enter_slice(session, school, part, returning=returning, recorded_by=recorded_by)


async def _enter_slice(
    session: AsyncSession,
    school: Row,
    admissions: list[tuple[str, PupilIn]],
    *,
    returning: set[str],
    recorded_by: str,
) -> None:
    urn = school.urn
    records = [pupil.model_dump(mode="json", exclude={"upn"}) for _, pupil in admissions]
    for upn, pupil in admissions:
        if upn in returning:
            await pupil_repository.readmit(session, urn, upn, pupil.model_dump(exclude={"upn"}))
    try:
        await pupil_repository.enter_pupils(
            session,
            [
                {**pupil.model_dump(exclude={"upn"}), "upn": upn, "school_urn": urn}
                for upn, pupil in admissions
                if upn not in returning
            ],
        )
        await pupil_repository.enter_enrolments(
            session,
            [
                {"school_urn": urn, "upn": upn, "admission_date": pupil.admission_date, "admitted_by": recorded_by}
                for upn, pupil in admissions
            ],
        )
    except DBAPIError as exc:
        if sqlstate_of(exc) != UNIQUE_VIOLATION:
            raise
        # A lone admission learns here that the pupil is already entered; a batch was checked
        # first, so only a request entering one of its pupils meanwhile brings it here.
        who = f"pupil {admissions[0][0]}" if len(admissions) == 1 else "one of these pupils"
        raise Conflict(f"{who} is already on the admission register of school {urn}") from None
    await pupil_repository.add_versions(
        session,
        [
            {"school_urn": urn, "upn": upn, "effective_from": pupil.admission_date, "record": record}
            for (upn, pupil), record in zip(admissions, records, strict=True)
        ],
        recorded_by=recorded_by,
    )
    events = [
        PupilAdmittedV1(school_urn=urn, la_code=school.la_code, upn=upn, **record)
        for (upn, _), record in zip(admissions, records, strict=True)
    ]
    await publish_pupil_events(session, topics.PUPILS, events)


async def update(session: AsyncSession, urn: str, upn: str, changes: PupilUpdateIn, *, recorded_by: str) -> PupilOut:
    school = await require_school(session, urn)
    current = await require_pupil(session, urn, upn)
    effective_from = changes.effective_from or today_in_england()
    if effective_from < current.admission_date:
        raise Unprocessable.of_field("effective_from", "a change cannot take effect before the pupil was admitted")
    if current.left_on is not None and effective_from > current.left_on:
        raise Unprocessable.of_field(
            "effective_from", f"the pupil left on {current.left_on}; the record is closed after that"
        )
    changed = changes.model_dump(mode="json", exclude_unset=True, exclude={"effective_from"})
    changed_columns = changes.model_dump(exclude_unset=True, exclude={"effective_from"})
    if not changed:
        raise Unprocessable.of_field("body", "name at least one field to change")
    record = {
        k: v
        for k, v in PupilOut.model_validate(current._asdict()).model_dump(mode="json").items()
        if k in RECORD_FIELDS
    }
    record |= changed
    try:  # the new record must still be whole
        PupilAdmittedV1(school_urn=urn, la_code=school.la_code, upn=upn, **record)
    except ValidationError as exc:
        raise Unprocessable.of_fields(
            [(".".join(str(part) for part in e["loc"]), e["msg"]) for e in exc.errors()],
            detail="the changes would leave the record incomplete",
        ) from None
    await pupil_repository.update_pupil(session, urn, upn, changed_columns)
    await pupil_repository.add_version(
        session, urn, upn, effective_from=effective_from, record=record, recorded_by=recorded_by
    )
    event = PupilUpdatedV1(school_urn=urn, la_code=school.la_code, upn=upn, effective_from=effective_from, **record)
    await publish_pupil_events(session, topics.PUPILS, [event])
    return await get(session, urn, upn)


async def delete(session: AsyncSession, urn: str, upn: str, deletion: DeletionIn, *, deleted_by: str) -> PupilOut:
    """Off the admission register from the day after `deletion.date`; the record stays."""
    school = await require_school(session, urn)
    current = await require_pupil(session, urn, upn)
    if current.left_on is not None:
        raise Conflict(f"pupil {upn} was already deleted from the register (on roll until {current.left_on})")
    if deletion.date < current.admission_date:
        raise Unprocessable.of_field("date", "the pupil cannot leave before they were admitted")
    if deletion.date > today_in_england():
        raise Unprocessable.of_field("date", "a pupil is deleted once the ground is met, not in advance")
    ground_met_on = deletion.ground_met_on or deletion.date
    if ground_met_on > deletion.date:
        raise Unprocessable.of_field("ground_met_on", "is after `date`: a name is deleted once the ground is met")
    if ground_met_on < current.admission_date:
        raise Unprocessable.of_field("ground_met_on", "is before the pupil was admitted")
    if (later := await mark_repository.last_marked_day(session, urn, upn)) is not None and later > deletion.date:
        raise Conflict(
            f"pupil {upn} is marked in registers up to {later}, after the deletion date {deletion.date}. Neither "
            "register may be changed retrospectively to delete a pupil, so those marks stay: give `date` as "
            f"{later} or later (the day the name comes off the register) and the day the ground was met as "
            "`ground_met_on`, and amend any N marks after that day to the code your enquiries establish"
        )
    destination = deletion.destination.model_dump(mode="json") if deletion.destination else None
    await pupil_repository.record_deletion(
        session,
        urn,
        upn,
        admission_date=current.admission_date,
        left_on=deletion.date,
        ground_met_on=ground_met_on,
        ground=deletion.ground.value,
        destination=destination,
        deleted_by=deleted_by,
    )
    # Plans for sessions after the pupil left never stand; a part-time timetable ends with the stay.
    await planned_repository.withdraw_after(session, urn, upn, deletion.date)
    await part_time.end_on_leaving(session, school, upn, deletion.date, ended_by=deleted_by)
    event = PupilDeletedV1(
        school_urn=urn,
        la_code=school.la_code,
        upn=upn,
        left_on=deletion.date,
        ground_met_on=ground_met_on,
        ground=deletion.ground,
        destination_school_urn=deletion.destination.school_urn if deletion.destination else None,
        destination_school_name=deletion.destination.school_name if deletion.destination else None,
        destination_start_date=deletion.destination.start_date if deletion.destination else None,
    )
    await publish_pupil_events(session, topics.PUPILS, [event])
    return await get(session, urn, upn)


async def get(session: AsyncSession, urn: str, upn: str, *, as_on: date | None = None) -> PupilOut:
    row = await require_pupil(session, urn, upn)
    current = row._asdict()
    stays = [r._asdict() for r in await pupil_repository.enrolments_of(session, urn, upn)]
    if as_on is not None:
        version = await pupil_repository.version_on(session, urn, upn, as_on)
        on_roll = any(s["admission_date"] <= as_on and (s["left_on"] is None or as_on <= s["left_on"]) for s in stays)
        if version is None or not on_roll:
            raise NotFound(f"pupil {upn} was not on the register of school {urn} on {as_on}")
        current |= version.record
    current["enrolments"] = stays
    return PupilOut.model_validate(current)


async def history(session: AsyncSession, urn: str, upn: str) -> PupilHistory:
    await get(session, urn, upn)
    versions = await pupil_repository.versions(session, urn, upn)
    return PupilHistory(school_urn=urn, upn=upn, versions=[PupilVersion.model_validate(v._asdict()) for v in versions])


async def list_page(
    session: AsyncSession, urn: str, *, on_roll_on: date | None, cursor: str | None, limit: int
) -> PupilPage:
    await require_school(session, urn)
    rows = await pupil_repository.page(session, urn, on_roll_on=on_roll_on, after_upn=cursor, limit=limit + 1)
    items = [PupilOut.model_validate(r._asdict()) for r in rows[:limit]]
    return PupilPage(items=items, next_cursor=items[-1].upn if len(rows) > limit else None)
