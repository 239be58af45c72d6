"""The register's own flows through the whole stack: an MIS sets up a school with its calendar
and sends a week of registers for it in one bulk request (with a retry), a parent reports an
absence from their app, staff accept it, and analytics counts the amended mark."""

from datetime import date

import httpx
import pytest
from attendance_bench.data import school_days

from attendance_shared.auth import Role, pupil_scope_key
from attendance_stack import LocalStack
from tests.factories import MADE_BY, calendar_body, make_upn, pupil_body, school_body
from tests.helpers import bearer, eventually

pytestmark = pytest.mark.e2e

URN, LA = "100009", "209"
PUPILS = [make_upn(la_code=LA, serial=900 + i) for i in range(3)]
WEEK = [d.isoformat() for d in school_days(date(2026, 11, 16), 5)]


async def test_a_week_in_bulk_then_a_parent_report_reaches_analytics(stack: LocalStack) -> None:
    mis = bearer(Role.MIS, schools=[URN])
    async with httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=30) as register:
        assert (await register.put(f"/v1/schools/{URN}", json=school_body(la_code=LA))).status_code == 200
        assert (await register.put(f"/v1/schools/{URN}/calendar", json=calendar_body())).status_code == 200
        for upn in PUPILS:
            assert (await register.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn))).status_code == 201

        first = PUPILS[0]
        registers = [
            {
                "urn": URN,
                "date": day,
                "session": session,
                "marks": [{"upn": u, "code": "N" if (u, day) == (first, WEEK[0]) else present} for u in PUPILS],
            }
            for day in WEEK
            if day != "2026-11-20"  # an INSET day in this calendar
            for session, present in (("am", "/"), ("pm", "\\"))
        ]
        key = {"Idempotency-Key": "week-46-upload"}
        sent = await register.put("/v1/registers", json={"registers": registers}, headers=key)
        assert sent.status_code == 200, sent.text
        retried = await register.put("/v1/registers", json={"registers": registers}, headers=key)
        assert retried.json() == sent.json() and retried.headers["idempotent-replayed"] == "true"

        parent = bearer(Role.PARENT, subject="parent-1", pupils=[pupil_scope_key(URN, first)])
        report = {"first_day": WEEK[0], "last_day": WEEK[0], "reason": "temperature overnight", "suggested_code": "I"}
        reported = await register.post(f"/v1/schools/{URN}/pupils/{first}/absence-reports", json=report, headers=parent)
        assert reported.status_code == 201, reported.text
        staff = bearer(Role.STAFF, schools=[URN])
        accept = f"/v1/schools/{URN}/absence-reports/{reported.json()['id']}/accept"
        accepted = await register.post(accept, json={"code": "I", "made_by": MADE_BY}, headers=staff)
        assert accepted.status_code == 200, accepted.text

    async with httpx.AsyncClient(base_url=stack.url("analytics"), headers=mis, timeout=10) as analytics:

        async def counted() -> None:
            response = await analytics.get(
                f"/v1/schools/{URN}/pupils/{first}/attendance", params={"from": WEEK[0], "to": WEEK[-1]}
            )
            assert response.status_code == 200, response.text
            figures = response.json()["figures"]
            assert figures["possible_sessions"] == 8
            assert (figures["authorised_absence_sessions"], figures["unauthorised_absence_sessions"]) == (2, 0)

        await eventually(counted)
