"""The consumer's handler: schools, calendars, pupils, marks, risk flags, leave decisions,
missing registers and support cases (what makes a summary supportive, and the letters a Notice
to Improve, a penalty notice or a meeting calls for), one batch at a time. Facts are folded per
batch and written in bulk, and the messages they call for are stored in the same transaction as
what makes a redelivery harmless: each session's revision for marks, the inbox for everything
else. So a redelivered batch plans nothing twice."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.erasure import apply_in_order
from attendance_shared.events import (
    AttendanceMeetingArrangedV1,
    Event,
    LeaveDecidedV1,
    NoticeToImproveIssuedV1,
    PenaltyNoticeIssuedV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    PupilUpdatedV1,
    RegisterMissingV1,
    RiskFlagChangedV1,
    RiskFlagRaisedV1,
    SchoolCalendarSetV1,
    SchoolUpsertedV1,
    SessionMark,
    SupportCaseChangedV1,
    carries_marks,
    latest_revisions,
    session_marks,
)
from attendance_shared.inbox import claim_new_events
from attendance_shared.metrics import NOTIFICATIONS
from attendance_shared.rules.codes import UNAUTHORISED_ABSENCE_CODES, UNEXPLAINED_CODE
from notification_service.domain import rules
from notification_service.domain.rules import PlannedMessage
from notification_service.models import processed_events
from notification_service.repository import store
from notification_service.service import outcomes
from notification_service.service.clock import Clock, utc_now
from notification_service.service.planning import day_of, save_planned, unknown_pupil
from notification_service.settings import SERVICE_NAME


class EventHandler:
    """Applies a batch from the schools, pupils, marks and risk-flag topics."""

    def __init__(self, *, late_register_alert_days: int = 0, clock: Clock = utc_now) -> None:
        self._late_days = late_register_alert_days
        self._clock = clock

    async def __call__(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        await apply_in_order(session, events, self._apply, store.remove_pupils, service=SERVICE_NAME)

    async def _apply(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        # Marks stay out of the inbox: their revisions make them idempotent (see `_marks`), and
        # a register batch would otherwise write thousands of inbox rows. The rest need it: a
        # redelivered admission must not put back contacts that a later update replaced.
        others = [(topic, e) for topic, e in events if not carries_marks(e.data)]
        fresh = await claim_new_events(
            session, processed_events, [(e.id, topic) for topic, e in others], service=SERVICE_NAME
        )
        payloads = [e.data for _, e in others if e.id in fresh]
        await self._schools(session, payloads)
        await self._pupils(session, payloads)
        now = self._clock()
        planned = await self._marks(session, session_marks(e.data for _, e in events), now)
        planned += await self._flags(session, [data for data in payloads if isinstance(data, RiskFlagRaisedV1)])
        planned += await self._leave(session, [data for data in payloads if isinstance(data, LeaveDecidedV1)])
        await self._circumstances(session, payloads)
        planned += await self._decision_letters(
            session,
            [
                d
                for d in payloads
                if isinstance(d, NoticeToImproveIssuedV1 | PenaltyNoticeIssuedV1 | AttendanceMeetingArrangedV1)
            ],
        )
        planned += await self._missing(session, [data for data in payloads if isinstance(data, RegisterMissingV1)])
        await save_planned(session, planned, now)

    async def _schools(self, session: AsyncSession, payloads: list) -> None:
        schools, calendars = {}, {}
        for data in payloads:
            if isinstance(data, SchoolUpsertedV1):
                schools[data.urn] = data.model_dump(
                    include={
                        "urn",
                        "la_code",
                        "name",
                        "am_register_closes",
                        "pm_register_closes",
                        "unexplained_absence_days",
                    }
                )
            elif isinstance(data, SchoolCalendarSetV1):
                calendars[(data.school_urn, data.academic_year)] = data.stored_row()
        await store.upsert_schools(session, list(schools.values()))
        await store.upsert_calendars(session, list(calendars.values()))

    async def _pupils(self, session: AsyncSession, payloads: list) -> None:
        contacts: dict[tuple[str, str], dict] = {}
        # A change to the record of a pupil who has left keeps them left; only an admission
        # (the first, or one after a deletion) puts them on roll.
        changed: dict[tuple[str, str], dict] = {}
        left: dict[tuple[str, str], dict] = {}
        for data in payloads:
            if isinstance(data, PupilUpdatedV1):
                key = (data.school_urn, data.upn)
                row = _contact_row(data)
                if key in contacts:
                    contacts[key] = {**row, "left_on": contacts[key]["left_on"]}
                else:
                    changed[key] = row
            elif isinstance(data, PupilAdmittedV1):
                key = (data.school_urn, data.upn)
                left.pop(key, None)
                changed.pop(key, None)
                contacts[key] = _contact_row(data)
            elif isinstance(data, PupilDeletedV1):
                key = (data.school_urn, data.upn)
                if key in contacts:
                    contacts[key]["left_on"] = data.left_on
                else:
                    left[key] = {"school_urn": data.school_urn, "upn": data.upn, "left_on": data.left_on}
        await store.upsert_contacts(session, list(contacts.values()))
        await store.upsert_contacts(session, list(changed.values()), keep_left_on=True)
        await store.mark_left(session, list(left.values()))

    async def _marks(self, session: AsyncSession, marks: list[SessionMark], now: datetime) -> list[PlannedMessage]:
        """Only unauthorised absences, and later revisions of a session, are stored: a register
        of a thousand present pupils writes nothing here. Each stored session keeps its revision
        and only a higher one replaces it, and only a replaced session plans or cancels anything:
        a redelivered mark changes nothing, and a stale N after an explaining amendment cannot
        bring back the alert or the chase. A first revision left unstored (a present pupil) has
        nothing older that could overtake it."""
        rows = [
            m.stored_row()
            for m in latest_revisions(marks).values()
            if m.code in UNAUTHORISED_ABSENCE_CODES or m.revision > 1
        ]
        changed = await store.save_absences(session, rows)
        if cancelled := await store.cancel_explained(
            session, [(r.school_urn, r.upn, r.date, r.session) for r in changed if r.code != UNEXPLAINED_CODE]
        ):
            NOTIFICATIONS.labels("cancelled").inc(len(cancelled))
            await outcomes.record(session, cancelled, now)
        today = day_of(now)
        recent = [
            r
            for r in changed
            if r.code in UNAUTHORISED_ABSENCE_CODES and today - timedelta(days=self._late_days) <= r.date <= today
        ]
        if not recent:
            return []
        schools = await store.school_facts(session, {r.school_urn for r in recent})
        pupils = await store.pupil_facts(session, {(r.school_urn, r.upn) for r in recent})
        unexplained = sorted((r for r in recent if r.code == UNEXPLAINED_CODE), key=lambda r: r.session)
        already = await store.active_first_day_alerts(session, {(r.school_urn, r.upn, r.date) for r in unexplained})
        planned: list[PlannedMessage] = []
        for r in recent:
            pupil = pupils.get((r.school_urn, r.upn)) or unknown_pupil(r.school_urn, r.upn)
            if pupil.left_on and r.date > pupil.left_on:
                continue
            school = schools[r.school_urn]
            planned += rules.worker_notices(school, pupil, r.date, r.session, r.code)
            # Morning first: the parents hear once a day, at the first register that found an N.
            if r.code == UNEXPLAINED_CODE and (r.school_urn, r.upn, r.date) not in already:
                already.add((r.school_urn, r.upn, r.date))
                planned += rules.first_day_alerts(school, pupil, r.date, r.session)
        return planned

    async def _flags(self, session: AsyncSession, flags: list[RiskFlagRaisedV1]) -> list[PlannedMessage]:
        if not flags:
            return []
        schools = await store.school_facts(session, {f.school_urn for f in flags})
        pupils = await store.pupil_facts(session, {(f.school_urn, f.upn) for f in flags})
        planned: list[PlannedMessage] = []
        for flag in flags:
            pupil = pupils.get((flag.school_urn, flag.upn)) or unknown_pupil(flag.school_urn, flag.upn)
            planned += rules.risk_flag_messages(schools[flag.school_urn], pupil, flag)
        return planned

    async def _missing(self, session: AsyncSession, registers: list[RegisterMissingV1]) -> list[PlannedMessage]:
        if not registers:
            return []
        schools = await store.school_facts(session, {r.school_urn for r in registers})
        return [m for r in registers for m in rules.missing_register_reminder(schools[r.school_urn], r)]

    async def _circumstances(self, session: AsyncSession, payloads: list) -> None:
        """A long-sickness flag raised or cleared, a support case opened or closed: what makes
        a summary supportive rather than a warning. The batch's last word per pupil wins."""
        sickness: dict[tuple[str, str], dict] = {}
        cases: dict[tuple[str, str], dict] = {}
        for data in payloads:
            if isinstance(data, RiskFlagChangedV1) and data.flag == "long_sickness":
                key = (data.school_urn, data.upn)
                raised = isinstance(data, RiskFlagRaisedV1)
                sickness[key] = {"school_urn": key[0], "upn": key[1], "long_sickness": raised}
            elif isinstance(data, SupportCaseChangedV1):
                key = (data.school_urn, data.upn)
                if key not in cases or cases[key]["support_case_change"] < data.change:
                    cases[key] = {
                        "school_urn": key[0],
                        "upn": key[1],
                        "support_case_open": data.status == "open",
                        "support_case_change": data.change,
                    }
        await store.set_long_sickness(session, list(sickness.values()))
        await store.set_support_cases(session, list(cases.values()))

    async def _decision_letters(
        self,
        session: AsyncSession,
        notices: list[NoticeToImproveIssuedV1 | PenaltyNoticeIssuedV1 | AttendanceMeetingArrangedV1],
    ) -> list[PlannedMessage]:
        if not notices:
            return []
        schools = await store.school_facts(session, {n.school_urn for n in notices})
        pupils = await store.pupil_facts(session, {(n.school_urn, n.upn) for n in notices})
        planned: list[PlannedMessage] = []
        for notice in notices:
            pupil = pupils.get((notice.school_urn, notice.upn)) or unknown_pupil(notice.school_urn, notice.upn)
            school = schools[notice.school_urn]
            if isinstance(notice, NoticeToImproveIssuedV1):
                planned += rules.notice_to_improve_letters(school, pupil, notice)
            elif isinstance(notice, AttendanceMeetingArrangedV1):
                planned += rules.meeting_invitations(school, pupil, notice)
            else:
                planned += rules.penalty_notice_letters(school, pupil, notice)
        return planned

    async def _leave(self, session: AsyncSession, decisions: list[LeaveDecidedV1]) -> list[PlannedMessage]:
        if not decisions:
            return []
        schools = await store.school_facts(session, {d.school_urn for d in decisions})
        pupils = await store.pupil_facts(session, {(d.school_urn, d.upn) for d in decisions})
        planned: list[PlannedMessage] = []
        for decision in decisions:
            pupil = pupils.get((decision.school_urn, decision.upn)) or unknown_pupil(decision.school_urn, decision.upn)
            planned += rules.leave_decision_messages(schools[decision.school_urn], pupil, decision)
        return planned


def _contact_row(data: PupilAdmittedV1) -> dict:
    """What this service keeps of a pupil's record: who to write to, and about whom."""
    return {
        "school_urn": data.school_urn,
        "upn": data.upn,
        "la_code": data.la_code,
        "forename": data.preferred_forename or data.legal_forename,
        "contacts": [c.model_dump() for c in data.contacts],
        "social_worker": _person(data.social_worker),
        "youth_offending_worker": _person(data.youth_offending_worker),
        "virtual_school_contact": _person(data.virtual_school_contact),
        "looked_after": data.looked_after,
        "left_on": None,
        "surname": data.preferred_surname or data.legal_surname,
        "date_of_birth": data.date_of_birth,
        "sen_status": data.sen_status,
        "address": data.address.model_dump() if data.address else None,
    }


def _person(person: object) -> dict | None:
    return person.model_dump() if person is not None else None  # type: ignore[attr-defined]
