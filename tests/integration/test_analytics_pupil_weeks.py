"""analytics' weekly series of every pupil at once, checked against the codes sent."""

from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics_service.app import create_app
from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from analytics_service.settings import Settings
from attendance_shared.auth import Role
from attendance_shared.db import make_sessionmaker
from tests.factories import make_upn, mark_record
from tests.helpers import app_client, bearer

pytestmark = pytest.mark.integration

URN = "100001"
A, B = make_upn(serial=811), make_upn(serial=812)
MONDAY = date(2026, 11, 2)


@pytest.fixture
async def analytics(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.SERVICE, subject="support-service")) as client:
        yield client


async def test_each_pupils_possible_and_attended_sessions_by_week(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    days = [MONDAY + timedelta(days=d) for d in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]
    codes = {
        # A: absent (O) both sessions of the first Monday, a trip (V) on the first Tuesday
        # morning, not required (X, not possible) on the second Friday, present otherwise.
        A: {(days[0], "am"): "O", (days[0], "pm"): "O", (days[1], "am"): "V", (days[9], "am"): "X"},
        # B: ill (I) the whole second week, and the second week's Wednesday afternoon unmarked.
        B: {(d, s): "I" for d in days[5:] for s in ("am", "pm")},
    }
    events = []
    for upn in (A, B):
        for day in days:
            for session in ("am", "pm"):
                if upn == B and (day, session) == (days[7], "pm"):
                    continue
                default = "/" if session == "am" else "\\"
                events.append(mark_record(upn, day, session, codes[upn].get((day, session), default)))
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, events)
    period = {"from": str(MONDAY), "to": str(days[-1])}
    answer = await analytics.get(f"/v1/schools/{URN}/pupil-attendance/weekly", params=period)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["weeks"] == [str(MONDAY), str(MONDAY + timedelta(days=7))]
    rows = {item["upn"]: (item["possible"], item["attended"]) for item in body["items"]}
    assert rows[A] == ([10, 9], [8, 9])  # 2 O absent of 10; X is not a possible session
    assert rows[B] == ([10, 9], [10, 0])  # one session unmarked counts nowhere
    first = (await analytics.get(f"/v1/schools/{URN}/pupil-attendance/weekly", params={**period, "limit": 1})).json()
    rest = (
        await analytics.get(
            f"/v1/schools/{URN}/pupil-attendance/weekly", params={**period, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [i["upn"] for i in first["items"] + rest["items"]] == sorted([A, B]) and rest["next_cursor"] is None
