"""A case's evidence pack: what an LA asks a school for with a penalty-notice request or a
prosecution file. The registration certificate comes from the register (the legal record,
amendments included), the figures from analytics, the casework from this service."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.auth import Actor
from attendance_shared.errors import Unprocessable
from support_service.clients.upstream import AnalyticsClient, RegisterClient
from support_service.domain.herringbone import certificate
from support_service.models import schools
from support_service.repository import cases as case_repository
from support_service.repository import projections
from support_service.service import legal, plans
from support_service.service.cases import full_cases, require_case

# Two academic years: the current one and the last, as LAs ask.
MAX_PACK_DAYS = 731


async def evidence_pack(
    session: AsyncSession,
    register: RegisterClient,
    analytics: AnalyticsClient,
    urn: str,
    case_id: uuid.UUID,
    *,
    start: date,
    end: date,
    actor: Actor,
    today: date,
) -> dict[str, Any]:
    if end < start:
        raise Unprocessable.of_field("to", "the period ends before it starts")
    if (end - start).days > MAX_PACK_DAYS:
        raise Unprocessable.of_field("from", "a pack covers at most two years")
    if end > today:
        raise Unprocessable.of_field("to", "a pack covers days that have happened")
    row = await require_case(session, urn, case_id, actor)
    # One read of the whole pack: its parts below are not logged again one by one.
    await case_repository.log_reads(
        session, [row.id], reader=actor.subject, role=actor.role.value, what="evidence pack"
    )
    school = (await session.execute(select(schools).where(schools.c.urn == urn))).first()
    pupil = await projections.pupil(session, urn, row.upn)
    entries = await register.entries(urn, row.upn, start, end)
    made = certificate(entries, start, end)
    figures = await analytics.pupil_figures(urn, row.upn, start, end)
    unauthorised, possible = made.unauthorised_in_last_possible(100)
    case = (await full_cases(session, [row], contact_cutoff=None))[0]
    chronology = await _all_contacts(session, row.id)
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "generated_by": actor.subject,
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "school": {"urn": urn, "name": school.name if school else None, "la_code": row.la_code},
        "pupil": {
            "upn": row.upn,
            "forename": pupil.legal_forename if pupil else None,
            "surname": pupil.legal_surname if pupil else None,
            "year_group": pupil.year_group if pupil else None,
            "parents": [
                {"name": c["name"], "relationship": c.get("relationship")}
                for c in ((pupil.record.get("contacts") or []) if pupil else [])
            ],
        },
        "case": case.model_dump(mode="json"),
        "figures": (figures or {}).get("figures"),
        "registration_certificate": {
            "weeks": [{"week_of": r["week_of"].isoformat(), "days": r["days"]} for r in made.rows()],
            "legend": made.legend(),
            "amendments": [
                {
                    "date": a.day.isoformat(),
                    "session": a.session,
                    "previous_code": a.previous_code,
                    "code": a.code,
                    "reason": a.reason,
                    "made_by": a.made_by,
                }
                for a in made.amendments
            ],
            "last_100_possible_sessions": {"possible": possible, "unauthorised": unauthorised},
        },
        "chronology": chronology,
        "plans": [
            p.model_dump(mode="json")
            for p in await plans.list_plans(session, urn, case_id, actor=actor, today=today, log=False)
        ],
        "attendance_contracts": [
            c.model_dump(mode="json") for c in await legal.contracts(session, urn, case_id, actor=actor, log=False)
        ],
        "supervision_orders": [
            o.model_dump(mode="json")
            for o in await legal.orders(session, urn, case_id, actor=actor, today=today, log=False)
        ],
        "notices_to_improve": [
            n.model_dump(mode="json") for n in await legal.notices(session, urn, case_id, actor=actor, log=False)
        ],
        "penalty_notices": [
            p.model_dump(mode="json") for p in await legal.penalties(session, urn, case_id, actor=actor, log=False)
        ],
    }


async def _all_contacts(session: AsyncSession, case_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await case_repository.contact_page(session, case_id, after=None, limit=100_000)
    return [
        {
            "id": str(r.id),
            "kind": r.kind,
            "happened_at": r.happened_at.isoformat(),
            "made_by": r.made_by,
            "with_whom": r.with_whom,
            "outcome": r.outcome,
            "notes": r.notes,
            "corrects": str(r.corrects) if r.corrects else None,
            "corrected_by": str(r.corrected_by) if r.corrected_by else None,
        }
        for r in rows
    ]
