"""analytics' flag list, read as a working list: one academic year at a time."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics_service.app import create_app
from analytics_service.settings import Settings
from attendance_shared.auth import Role
from attendance_shared.clock import today_in_england
from attendance_shared.rules.figures import academic_year_of
from tests.factories import make_upn
from tests.helpers import app_client, bearer

pytestmark = pytest.mark.integration

URN = "100001"
THIS_YEAR = academic_year_of(today_in_england())
A, B = make_upn(serial=801), make_upn(serial=802)


@pytest.fixture
async def analytics(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN)) as client:
        yield client


async def flag(engine: AsyncEngine, upn: str, year: int, name: str = "persistent_absence") -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO analytics.risk_flags (school_urn, upn, academic_year, flag, active, "
                "possible_sessions, absent_sessions, overall_absence_rate) "
                "VALUES (:urn, :upn, :year, :flag, true, 100, 12, 12.0)"
            ),
            {"urn": URN, "upn": upn, "year": year, "flag": name},
        )


async def test_the_flag_list_is_this_years_unless_another_year_is_asked_for(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # Last year's flags stay active (a year that is over can never clear them).
    await flag(engine, A, THIS_YEAR - 1)
    await flag(engine, A, THIS_YEAR)
    await flag(engine, B, THIS_YEAR - 1, "severe_absence")
    current = (await analytics.get(f"/v1/schools/{URN}/flags")).json()
    assert current["academic_year"] == THIS_YEAR
    assert [(f["upn"], f["flag"], f["academic_year"]) for f in current["items"]] == [
        (A, "persistent_absence", THIS_YEAR)
    ]
    last = (await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": THIS_YEAR - 1})).json()
    assert last["academic_year"] == THIS_YEAR - 1
    assert sorted((f["upn"], f["flag"]) for f in last["items"]) == [(A, "persistent_absence"), (B, "severe_absence")]
    # One row of a pupil's flag a page: with two years in one list, the cursor skipped one.
    first = (
        await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": THIS_YEAR - 1, "limit": 1})
    ).json()
    rest = (
        await analytics.get(
            f"/v1/schools/{URN}/flags", params={"academic_year": THIS_YEAR - 1, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [f["upn"] for f in first["items"] + rest["items"]] == [A, B] and rest["next_cursor"] is None
    refused = await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": 1900})
    assert refused.status_code == 422
