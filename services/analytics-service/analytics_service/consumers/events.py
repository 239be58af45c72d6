"""Applies the register's events: schools, calendars, pupils and marks, then recomputes the
figures and flags of every pupil-year they touch, once per batch."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.encoding import day_of_slot
from analytics_service.domain.flags import (
    Evidence,
    FlagRules,
    bits_to_flags,
    evaluate_flags,
    flags_to_bits,
    timetable_flags,
)
from analytics_service.domain.pupil_year import PupilYear, PupilYearKey, group_marks
from analytics_service.domain.year_matrix import YearMatrix, category_counts, enrolment_mask, unexplained_counts
from analytics_service.models import outbox
from analytics_service.repository import projections
from analytics_service.service.years import looks_back, previous_year, rules_of, year_of
from analytics_service.settings import SERVICE_NAME
from attendance_shared import topics
from attendance_shared.erasure import apply_in_order
from attendance_shared.events import (
    Event,
    FlagEvidence,
    PartTimeTimetableSetV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    PupilUpdatedV1,
    RegisterMarkedV1,
    RiskFlagClearedV1,
    RiskFlagRaisedV1,
    SchoolCalendarSetV1,
    SchoolUpsertedV1,
    SessionMark,
    SessionMarkedV1,
    make_event,
    pupil_key,
    register_marks,
)
from attendance_shared.outbox import add_to_outbox
from attendance_shared.rules.codes import Category
from attendance_shared.rules.figures import AttendanceFigures, academic_year_of

SOURCE = "/services/analytics"
CATEGORIES = (
    Category.PRESENT,
    Category.APPROVED_EDUCATIONAL_ACTIVITY,
    Category.AUTHORISED_ABSENCE,
    Category.UNAUTHORISED_ABSENCE,
)


def _version_row(pupil: PupilAdmittedV1, effective_from: date) -> dict:
    return {
        "school_urn": pupil.school_urn,
        "upn": pupil.upn,
        "effective_from": effective_from,
        "year_group": pupil.year_group,
        "sex": pupil.sex,
        "fsm_eligible": pupil.fsm_eligible,
        "pupil_premium": pupil.pupil_premium,
        "sen_status": pupil.sen_status,
        "eal": pupil.eal,
        "looked_after": pupil.looked_after,
        "has_social_worker": pupil.social_worker is not None,
        "ethnicity": pupil.ethnicity,
        "previously_looked_after": pupil.previously_looked_after,
        "child_in_need": pupil.child_in_need,
        "child_protection_plan": pupil.child_protection_plan,
        "registration_group": pupil.registration_group,
        "date_of_birth": pupil.date_of_birth,
        "boarder": pupil.boarder,
    }


def _timetable_row(timetable: PartTimeTimetableSetV1) -> dict:
    return {
        "timetable_id": timetable.timetable_id,
        "school_urn": timetable.school_urn,
        "upn": timetable.upn,
        "version": timetable.version,
        "status": timetable.status,
        "start_date": timetable.start_date,
        "end_date": timetable.end_date,
        "next_review_on": timetable.next_review_on,
    }


# Pupil-years recomputed together: as many as a batch of single mark events could reach.
RECOMPUTE_CHUNK = 5000


class AnalyticsHandler:
    def __init__(self, *, rules: FlagRules) -> None:
        self.rules = rules

    async def __call__(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        await apply_in_order(session, events, self._apply, projections.remove_pupils, service=SERVICE_NAME)

    async def _apply(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        schools, calendars, versions, admissions, leavings = {}, {}, {}, [], []
        timetables: list[dict] = []
        marks: list[SessionMark] = []
        # Each changed pupil, with the first academic year the change can alter: admissions,
        # leavings and timetables change nothing before the day they take effect, so earlier
        # years are not recomputed (six years of a pupil's rows for one change of address).
        touched_from: dict[tuple[str, str], int] = {}

        def touch(urn: str, upn: str, day: date) -> None:
            year = academic_year_of(day)
            touched_from[(urn, upn)] = min(year, touched_from.get((urn, upn), year))

        for _, event in events:
            data = event.data
            if isinstance(data, SessionMarkedV1):
                marks.append(data)
            elif isinstance(data, RegisterMarkedV1):
                marks.extend(register_marks(data))
            elif isinstance(data, SchoolUpsertedV1):
                schools[data.urn] = {
                    "urn": data.urn,
                    "la_code": data.la_code,
                    "name": data.name,
                    "phase": data.phase,
                    "unexplained_absence_days": data.unexplained_absence_days,
                    "trust_id": data.trust.trust_id if data.trust else None,
                    "trust_name": data.trust.name if data.trust else None,
                }
            elif isinstance(data, SchoolCalendarSetV1):
                calendars[(data.school_urn, data.academic_year)] = data.stored_row()
            elif isinstance(data, PupilUpdatedV1):
                versions[(data.school_urn, data.upn, data.effective_from)] = _version_row(data, data.effective_from)
                touch(data.school_urn, data.upn, data.effective_from)
            elif isinstance(data, PupilAdmittedV1):
                versions[(data.school_urn, data.upn, data.admission_date)] = _version_row(data, data.admission_date)
                admissions.append({"school_urn": data.school_urn, "upn": data.upn, "admitted_on": data.admission_date})
                touch(data.school_urn, data.upn, data.admission_date)
            elif isinstance(data, PupilDeletedV1):
                leavings.append({"school_urn": data.school_urn, "upn": data.upn, "left_on": data.left_on})
                touch(data.school_urn, data.upn, data.left_on)
            elif isinstance(data, PartTimeTimetableSetV1):
                timetables.append(_timetable_row(data))
                touch(data.school_urn, data.upn, data.start_date)
        await projections.upsert_schools(session, list(schools.values()))
        await projections.upsert_calendars(session, list(calendars.values()))
        await projections.upsert_versions(session, list(versions.values()))
        await projections.admit(session, admissions)
        await projections.record_leaving(session, leavings)
        await projections.save_timetables(session, timetables)

        marks_by_year = group_marks(marks)
        # A school's settings, a calendar or a pupil's enrolment can change figures and flags
        # without any new mark: those pupil-years are recomputed too.
        recompute = set(await projections.pupil_year_keys_from(session, touched_from))
        recompute |= set(await projections.pupil_year_keys_of_schools(session, calendars))
        recompute |= set(await projections.pupil_year_keys_of_school_urns(session, sorted(schools)))
        await self._recompute(session, marks_by_year, recompute)

    async def _recompute(
        self, session: AsyncSession, marks_by_year: dict[PupilYearKey, list[SessionMark]], others: set
    ) -> None:
        keys = sorted(set(marks_by_year) | others)
        await projections.lock_schools(session, {urn for urn, _, _ in keys})
        # A batch of registers can reach every pupil of twenty schools: their years are read,
        # recomputed and written a chunk at a time, so memory holds one chunk, not the batch.
        for first in range(0, len(keys), RECOMPUTE_CHUNK):
            chunk = keys[first : first + RECOMPUTE_CHUNK]
            await self._recompute_chunk(session, chunk, marks_by_year, others)

    async def _recompute_chunk(
        self,
        session: AsyncSession,
        keys: list[PupilYearKey],
        marks_by_year: dict[PupilYearKey, list[SessionMark]],
        others: set,
    ) -> None:
        stored = await projections.pupil_year_rows(session, keys)
        states: dict[PupilYearKey, PupilYear] = {}
        for key, row in stored.items():
            states[key] = PupilYear.stored(row.codes, row.revisions, row.flags)
            states[key].la_code = row.la_code
        due = set(others) & set(stored)
        for key in keys:
            year_marks = marks_by_year.get(key)
            if not year_marks:
                continue
            state = states.setdefault(key, PupilYear())
            for mark in year_marks:
                if state.apply(mark):
                    due.add(key)
                    state.la_code = mark.la_code
        if due:
            await self._save(session, states, due)

    async def save_years(self, session: AsyncSession, years: dict[PupilYearKey, PupilYear]) -> None:
        """Pupil-years whose marks were applied outside a batch (the rebuild's bulk path, which
        folds a year of marks into each before writing it once): merged into any stored row,
        then their figures and flags computed and saved as a batch's are."""
        await projections.lock_schools(session, {urn for urn, _, _ in years})
        stored = await projections.pupil_year_rows(session, years)
        states: dict[PupilYearKey, PupilYear] = {}
        for key, year in years.items():
            row = stored.get(key)
            if row is None:
                states[key] = year
                continue
            states[key] = PupilYear.stored(row.codes, row.revisions, row.flags)
            states[key].la_code = row.la_code
            states[key].merge(year)
        await self._save(session, states, set(states))

    async def _save(self, session: AsyncSession, states: dict[PupilYearKey, PupilYear], due: set) -> None:
        """The figures and flags of the `due` pupil-years, from their states, saved with any
        flag events they raise or clear."""
        groups: dict[tuple[str, int], list[PupilYearKey]] = defaultdict(list)
        for key in sorted(due):
            groups[(key[0], key[2])].append(key)
        calendars = await projections.calendars(
            session, [k for urn, year in groups for k in ((urn, year), (urn, year - 1))]
        )
        schools = await projections.school_rows(session, {urn for urn, _ in groups})
        enrolments = await projections.enrolments_of(session, sorted({(k[0], k[1]) for k in due}))
        timetables = await projections.timetables_of(session, {(k[0], k[1]) for k in due})
        rows, flag_rows, events = [], [], []
        for (urn, year), keys in groups.items():
            school_year = year_of(calendars, urn, year)
            # Only up to the last session marked: the rest of the year holds no mark yet.
            matrix = YearMatrix.of(
                year,
                [states[k].codes for k in keys],
                [enrolment_mask(enrolments.get((k[0], k[1])), year) for k in keys],
            ).up_to_latest()
            previous = None
            if await looks_back(session, matrix, school_year, keys):
                previous = await previous_year(session, keys, year, calendars, enrolments)
            due_flags = evaluate_flags(matrix, school_year, rules_of(schools.get(urn), self.rules), previous)
            counts = category_counts(matrix.categories)
            unexplained = unexplained_counts(matrix).tolist()
            present, aea, authorised, unauthorised = counts[:, 1:5].T.tolist()
            latest = matrix.latest_slot().tolist()
            for i, key in enumerate(keys):
                state = states[key]
                latest_date = day_of_slot(year, latest[i]) if latest[i] >= 0 else None
                due_flags[i] |= timetable_flags(timetables.get((key[0], key[1]), ()), latest_date)
                bits = flags_to_bits(due_flags[i])
                rows.append(
                    {
                        "school_urn": key[0],
                        "upn": key[1],
                        "academic_year": year,
                        "la_code": state.la_code,
                        "codes": bytes(state.codes),
                        "revisions": state.revisions_bytes(),
                        "possible": present[i] + aea[i] + authorised[i] + unauthorised[i],
                        "present": present[i],
                        "approved_educational_activity": aea[i],
                        "authorised": authorised[i],
                        "unauthorised": unauthorised[i],
                        "latest_date": latest_date,
                        "flags": bits,
                        "unexplained": unexplained[i],
                    }
                )
                if bits != state.flags:
                    figures = AttendanceFigures.from_category_counts(
                        dict(zip(CATEGORIES, (present[i], aea[i], authorised[i], unauthorised[i]), strict=True))
                    )
                    self._flag_changes(key, state, figures, due_flags[i], latest_date, flag_rows, events)
        await projections.save_pupil_years(session, rows)
        await projections.set_flags(session, flag_rows)
        await add_to_outbox(session, outbox, topics.RISK_FLAGS.name, events)

    @staticmethod
    def _flag_changes(
        key: PupilYearKey,
        state: PupilYear,
        figures: AttendanceFigures,
        due: dict[str, Evidence | None],
        as_of: date | None,
        flag_rows: list[dict],
        events: list[Event],
    ) -> None:
        urn, upn, year = key
        before = bits_to_flags(state.flags)
        for flag in sorted(before ^ set(due)):
            raised = flag in due
            evidence = due.get(flag)
            flag_rows.append(
                {
                    "school_urn": urn,
                    "upn": upn,
                    "academic_year": year,
                    "flag": flag,
                    "active": raised,
                    "possible_sessions": figures.possible,
                    "absent_sessions": figures.absent,
                    "overall_absence_rate": figures.overall_absence_rate,
                    "evidence_count": evidence.count if evidence else None,
                    "evidence_unit": evidence.unit if evidence else None,
                    "evidence_since": evidence.since if evidence else None,
                    "evidence_until": evidence.until if evidence else None,
                    "evidence_reached_on": evidence.reached_on if evidence else None,
                    "as_of": as_of,
                }
            )
            model = RiskFlagRaisedV1 if raised else RiskFlagClearedV1
            payload = model(
                school_urn=urn,
                la_code=state.la_code,
                upn=upn,
                flag=flag,
                academic_year=year,
                possible_sessions=figures.possible,
                absent_sessions=figures.absent,
                overall_absence_rate=figures.overall_absence_rate,
                as_of=as_of,
                evidence=FlagEvidence(
                    count=evidence.count,
                    unit=evidence.unit,
                    since=evidence.since,
                    until=evidence.until,
                    reached_on=evidence.reached_on,
                )
                if evidence
                else None,
            )
            events.append(make_event(payload, source=SOURCE, subject=pupil_key(urn, upn)))
