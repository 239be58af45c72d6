"""Applies session-marked and mark-amended events: sessions, totals, then risk flags."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.flags import rate_flags_due
from analytics_service.domain.session_changes import PupilYear, fold_changes, latest_per_session
from analytics_service.models import outbox
from analytics_service.repository import projections
from attendance_shared import topics
from attendance_shared.events import Event, RiskFlagClearedV1, RiskFlagRaisedV1, SessionMarkedV1, make_event, pupil_key
from attendance_shared.outbox import add_to_outbox
from attendance_shared.rules.figures import academic_year_of

SOURCE = "/services/analytics"


class MarksHandler:
    def __init__(self, *, min_possible_sessions: int) -> None:
        self.min_possible_sessions = min_possible_sessions

    async def __call__(self, session: AsyncSession, events: Sequence[tuple[str, Event]]) -> None:
        marks = [e.data for _, e in events if isinstance(e.data, SessionMarkedV1)]
        latest = latest_per_session(marks)
        stored = await projections.stored_sessions(session, list(latest))
        applied, deltas = fold_changes(latest, stored)
        await projections.save_sessions(session, applied)
        la_codes = {(m.school_urn, m.upn): m.la_code for m in applied}
        last_dates: dict[PupilYear, date] = {}
        for m in applied:
            key = (m.school_urn, m.upn, academic_year_of(m.date))
            last_dates[key] = max(last_dates.get(key, m.date), m.date)
        totals = await projections.add_to_totals(session, deltas, la_codes, last_dates)
        await self._update_flags(session, totals, la_codes, last_dates)

    async def _update_flags(self, session: AsyncSession, totals: dict, la_codes: dict, last_dates: dict) -> None:
        active = await projections.active_flags(session, list(totals))
        rows, events = [], []
        for (urn, upn, year), figures in totals.items():
            due = rate_flags_due(figures, min_possible_sessions=self.min_possible_sessions)
            for flag in ("persistent_absence", "severe_absence"):
                is_active = (urn, upn, year, flag) in active
                if (flag in due) == is_active:
                    continue
                rows.append(
                    {
                        "school_urn": urn,
                        "upn": upn,
                        "academic_year": year,
                        "flag": flag,
                        "active": flag in due,
                        "possible_sessions": figures.possible,
                        "absent_sessions": figures.absent,
                        "overall_absence_rate": figures.overall_absence_rate,
                    }
                )
                model = RiskFlagRaisedV1 if flag in due else RiskFlagClearedV1
                payload = model(
                    school_urn=urn,
                    la_code=la_codes[(urn, upn)],
                    upn=upn,
                    flag=flag,
                    academic_year=year,
                    possible_sessions=figures.possible,
                    absent_sessions=figures.absent,
                    overall_absence_rate=figures.overall_absence_rate,
                    as_of=last_dates[(urn, upn, year)],
                )
                events.append(make_event(payload, source=SOURCE, subject=pupil_key(urn, upn)))
        await projections.set_flags(session, rows)
        await add_to_outbox(session, outbox, topics.RISK_FLAGS.name, events)
