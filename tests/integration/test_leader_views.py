"""analytics' views for leaders, governors and LA officers, over HTTP against real PostgreSQL:
bands and their pupils, the explained figure, spells, reasons, months, year on year, compare
tables and tiers. Every expected figure is worked out here from the codes sent."""

import csv
import io
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
from attendance_shared.events import SchoolCalendarSetV1, SchoolTrust, SchoolUpsertedV1, make_event, pupil_key
from attendance_shared.rules.calendar import calendar_from_values
from tests.factories import SAMPLE_PUPIL, calendar_body, make_upn, mark_record
from tests.helpers import app_client, bearer

pytestmark = pytest.mark.integration

LA = "201"
PRIMARY, SECONDARY, OUTSIDE = "100001", "100002", "100003"
TRUST = "16474"
A, B, C, D, E = (make_upn(serial=n) for n in range(901, 906))
F = make_upn(serial=906)
# Two school weeks of 2026/27 (the calendar's INSET day is 20 November, after them).
DAYS = [
    date(2026, 11, 2) + timedelta(days=n) for n in range(12) if (date(2026, 11, 2) + timedelta(days=n)).weekday() < 5
]
PERIOD = {"to": str(DAYS[-1])}  # from the start of the academic year to the second Friday


def _present(session: str) -> str:
    return "/" if session == "am" else "\\"


def _marks(urn: str, upn: str, days: list[date], absent: dict[tuple[date, str], str]) -> list:
    return [mark_record(upn, d, s, absent.get((d, s), _present(s)), urn=urn) for d in days for s in ("am", "pm")]


def _both(days: list[date], code: str) -> dict[tuple[date, str], str]:
    return {(d, s): code for d in days for s in ("am", "pm")}


async def _seed(engine: AsyncEngine) -> None:
    trust = SchoolTrust(trust_id=TRUST, name="Oak Learning Trust", kind="multi_academy_trust",
                        joined_on=date(2024, 9, 1))  # fmt: skip
    schools = [
        SchoolUpsertedV1(urn=PRIMARY, la_code=LA, name="Oak Lane Primary", phase="primary", trust=trust),
        SchoolUpsertedV1(urn=SECONDARY, la_code=LA, name="Elm Road Academy", phase="secondary", trust=trust),
        SchoolUpsertedV1(urn=OUTSIDE, la_code=LA, name="Yew Tree School", phase="primary"),
    ]
    body = calendar_body()
    events = [("attendance.schools.v1", make_event(s, source="/test", subject=s.urn)) for s in schools]
    calendar = SchoolCalendarSetV1(school_urn=PRIMARY, la_code=LA, academic_year=2026, terms=body["terms"],
                                   closures=body["closures"])  # fmt: skip
    events.append(("attendance.schools.v1", make_event(calendar, source="/test", subject=PRIMARY)))
    for upn, fsm in ((A, True), (B, False), (C, True), (D, False), (E, False)):
        admitted = SAMPLE_PUPIL.model_copy(
            update={"upn": upn, "school_urn": PRIMARY, "fsm_eligible": fsm, "admission_date": date(2025, 9, 1)}
        )
        events.append(("attendance.pupils.v1", make_event(admitted, source="/test", subject=pupil_key(PRIMARY, upn))))
    events += _marks(PRIMARY, A, DAYS, {})  # 0 of 20: band 0-5
    events += _marks(PRIMARY, B, DAYS, _both(DAYS[:1], "I"))  # 2 of 20, exactly 10%: band 10-15
    events += _marks(PRIMARY, C, DAYS, {(DAYS[3], "pm"): "G"})  # 1 of 20, exactly 5%: band 5-10
    # D: absent Thursday to the next Wednesday, one spell over the weekend, 10 of 20: 50+.
    events += _marks(PRIMARY, D, DAYS, _both(DAYS[3:8], "O"))
    events += _marks(PRIMARY, E, DAYS[:4], _both(DAYS[:1], "I"))  # 8 possible sessions: not counted
    events += _marks(SECONDARY, F, DAYS, _both(DAYS[:2], "M"))  # 4 of 20: band 20-25
    # Last year: A present and B absent one day in the first week of September 2025.
    september = [date(2025, 9, 1) + timedelta(days=n) for n in range(5)]
    events += _marks(PRIMARY, A, september, {})
    events += _marks(PRIMARY, B, september, _both(september[:1], "N"))
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, events)


@pytest.fixture
async def analytics(database_url: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await _seed(engine)
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN)) as client:
        yield client


def _counts(bands: list[dict]) -> dict[str, int]:
    return {b["band"]: b["pupils"] for b in bands if b["pupils"]}


async def test_bands_count_pupils_at_their_edges_and_list_them(analytics: httpx.AsyncClient) -> None:
    found = (await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands", params=PERIOD)).json()
    assert (found["pupils_counted"], found["pupils_not_counted"]) == (4, 1)
    assert _counts(found["bands"]) == {"0-5": 1, "5-10": 1, "10-15": 1, "50+": 1}
    assert next(b for b in found["bands"] if b["band"] == "50+")["share"] == 25.0
    split = (
        await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands", params={**PERIOD, "group_by": "fsm_eligible"})
    ).json()
    assert {g["group"]: _counts(g["bands"]) for g in split["groups"]} == {
        "yes": {"0-5": 1, "5-10": 1},
        "no": {"10-15": 1, "50+": 1},
    }
    wide = (await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands", params={**PERIOD, "width": 10})).json()
    assert _counts(wide["bands"]) == {"0-10": 2, "10-20": 1, "50+": 1}

    pupils = (
        await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands/pupils", params={**PERIOD, "band": "10-15"})
    ).json()
    assert [(p["upn"], p["absent_sessions"], p["possible_sessions"], p["tier"]) for p in pupils["items"]] == [
        (B, 2, 20, "persistent_absence")
    ]
    as_csv = await analytics.get(
        f"/v1/schools/{PRIMARY}/absence-bands/pupils", params={**PERIOD, "band": "50+"}, headers={"Accept": "text/csv"}
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["upn"], r["overall_absence_rate"], r["tier"]) for r in rows] == [(D, "50.0", "severe_absence")]


async def test_bad_bands_are_refused_naming_the_field(analytics: httpx.AsyncClient) -> None:
    width = await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands", params={**PERIOD, "width": 3})
    assert width.status_code == 422 and width.json()["errors"][0]["location"] == ["query", "width"]
    band = await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands/pupils", params={**PERIOD, "band": "10-20"})
    assert band.status_code == 422 and band.json()["errors"][0]["location"] == ["query", "band"]
    cursor = await analytics.get(
        f"/v1/schools/{PRIMARY}/absence-bands/pupils", params={**PERIOD, "band": "0-5", "cursor": "x"}
    )
    assert cursor.status_code == 422 and cursor.json()["errors"][0]["location"] == ["query", "cursor"]
    unknown_la = await analytics.get("/v1/las/999/absence-bands", params=PERIOD)
    assert unknown_la.status_code == 404


async def test_an_la_sees_its_bands_and_pages_a_band_across_schools(analytics: httpx.AsyncClient) -> None:
    found = (await analytics.get(f"/v1/las/{LA}/absence-bands", params=PERIOD)).json()
    assert _counts(found["bands"]) == {"0-5": 1, "5-10": 1, "10-15": 1, "20-25": 1, "50+": 1}
    secondary = (await analytics.get(f"/v1/las/{LA}/absence-bands", params={**PERIOD, "phase": "secondary"})).json()
    assert _counts(secondary["bands"]) == {"20-25": 1}
    params = {**PERIOD, "band": "0-10", "width": 10, "limit": 1}
    first = (await analytics.get(f"/v1/las/{LA}/absence-bands/pupils", params=params)).json()
    rest = (
        await analytics.get(f"/v1/las/{LA}/absence-bands/pupils", params={**params, "cursor": first["next_cursor"]})
    ).json()
    assert [p["upn"] for p in first["items"] + rest["items"]] == sorted([A, C]) and rest["next_cursor"] is None


async def test_the_pupils_figure_explains_itself(analytics: httpx.AsyncClient) -> None:
    answer = (await analytics.get(f"/v1/schools/{PRIMARY}/pupils/{B}/attendance", params=PERIOD)).json()
    words = answer["explained"]
    calendar = calendar_from_values(2026, calendar_body()["terms"], calendar_body()["closures"])
    after = [DAYS[-1] + timedelta(days=n) for n in range(1, (date(2027, 7, 31) - DAYS[-1]).days + 1)]
    remaining = sum(len(calendar.open_sessions(day)) for day in after)
    assert words["remaining_possible_sessions"] == remaining
    year_end = round(100 * (20 + remaining - 2) / (20 + remaining), 2)
    assert words["text"] == (
        "2 of 20 possible sessions missed: 10.0% (1 day, about 5 lessons). That is persistent absence (10% or "
        "more). Attending the next 1 session in a row would bring it below 10%, if nothing else is missed. If no "
        f"more sessions are missed, the year ends at {20 + remaining - 2} of {20 + remaining}: {year_end:.2f}% "
        "attendance."
    )
    assert (words["persistent_absence"], words["sessions_to_leave_persistent_absence"], words["tier"]) == (
        True,
        1,
        "persistent_absence",
    )
    assert (words["spells"], words["longest_spell_sessions"], words["persistent_absence_risk"]) == (1, 2, "persistent")
    # The autumn term holds the year so far (it starts before the first session): it has one.
    term = {"period": "term", "on": str(DAYS[0])}
    autumn = (await analytics.get(f"/v1/schools/{PRIMARY}/pupils/{B}/attendance", params=term)).json()["explained"]
    assert autumn["year_end_attendance_if_no_more_absence"] is not None
    # A week alone does not start with the year: no year-end figure for it.
    week = {"period": "week", "on": str(DAYS[0])}
    alone = (await analytics.get(f"/v1/schools/{PRIMARY}/pupils/{B}/attendance", params=week)).json()["explained"]
    assert alone["year_end_attendance_if_no_more_absence"] is None and "year ends" not in alone["text"]


async def test_spells_and_risk_of_each_pupil(analytics: httpx.AsyncClient) -> None:
    page = (await analytics.get(f"/v1/schools/{PRIMARY}/absence-spells", params=PERIOD)).json()
    rows = {r["upn"]: (r["spells"], r["longest_spell_sessions"], r["persistent_absence_risk"]) for r in page["items"]}
    assert rows == {
        A: (0, 0, "low"),
        B: (1, 2, "persistent"),
        C: (1, 1, "high"),  # 5% with a spell in 20 sessions
        D: (1, 10, "persistent"),  # over the weekend: one spell
        E: (1, 2, "unknown"),  # 8 possible sessions
    }
    high = (await analytics.get(f"/v1/schools/{PRIMARY}/absence-spells", params={**PERIOD, "risk": "high"})).json()
    assert [r["upn"] for r in high["items"]] == [C]


async def test_reasons_are_rates_beside_englands(analytics: httpx.AsyncClient) -> None:
    found = (await analytics.get(f"/v1/schools/{PRIMARY}/absence-reasons", params=PERIOD)).json()
    possible = 4 * 20 + 8
    assert found["possible_sessions"] == possible
    reasons = {r["reason"]: r for r in found["reasons"]}
    assert (reasons["illness"]["sessions"], reasons["illness"]["rate"]) == (4, round(100 * 4 / possible, 2))
    assert reasons["illness"]["national_rate"] == 3.38
    assert (reasons["holiday_not_granted"]["sessions"], reasons["holiday_not_granted"]["national_rate"]) == (1, None)
    assert reasons["other_unauthorised"]["sessions"] == 10
    assert sum(r["sessions"] for r in found["reasons"]) == 4 + 1 + 10
    la = (await analytics.get(f"/v1/las/{LA}/absence-reasons", params=PERIOD)).json()
    assert {r["reason"]: r["sessions"] for r in la["reasons"]}["medical_appointments"] == 4


async def test_months_and_year_on_year(analytics: httpx.AsyncClient) -> None:
    months = (await analytics.get(f"/v1/schools/{PRIMARY}/attendance/monthly", params=PERIOD)).json()["months"]
    assert [(m["month"], m["figures"]["possible_sessions"]) for m in months] == [("2026-11", 88)]
    found = (await analytics.get(f"/v1/schools/{PRIMARY}/attendance/year-on-year", params={"on": str(DAYS[-1])})).json()
    calendar = calendar_from_values(2026, calendar_body()["terms"], calendar_body()["closures"])
    days = [date(2026, 8, 1) + timedelta(days=n) for n in range((DAYS[-1] - date(2026, 8, 1)).days + 1)]
    school_days = sum(1 for day in days if calendar.open_sessions(day))
    assert found["school_day_number"] == school_days
    # Last year had no calendar, so every weekday from 1 August counts: cut at the same number.
    weekdays = [date(2025, 8, 1) + timedelta(days=n) for n in range(200)]
    cut = [day for day in weekdays if day.weekday() < 5][school_days - 1]
    assert found["last_year"]["period"] == {"start": "2025-08-01", "end": str(cut), "kind": "range", "name": None}
    assert found["last_year"]["figures"]["overall_absence_rate"] == 10.0  # 2 of 20 sessions
    assert found["this_year"]["figures"]["overall_absence_rate"] == round(100 * 15 / 88, 2)
    assert found["change"]["overall_absence_rate"] == round(round(100 * 15 / 88, 2) - 10.0, 2)


async def test_an_las_schools_ranked_by_phase(analytics: httpx.AsyncClient) -> None:
    table = (await analytics.get(f"/v1/las/{LA}/compare", params=PERIOD)).json()
    # Primary: 73 of 88 sessions attended (82.95%); B, D and E persistently absent, 3 of 5.
    # Secondary: 16 of 20 (80%); its one pupil persistently absent.
    assert [s["school_urn"] for s in table["schools"]] == [PRIMARY, SECONDARY]
    ranks = {s["school_urn"]: s["ranks"] for s in table["schools"]}
    assert ranks[PRIMARY]["attendance_rate"] == {"value": 82.95, "position": 1, "of": 2, "percentile": 100.0}
    assert ranks[SECONDARY]["attendance_rate"] == {"value": 80.0, "position": 2, "of": 2, "percentile": 0.0}
    assert ranks[PRIMARY]["persistent_absence_rate"]["value"] == 60.0
    assert ranks[SECONDARY]["persistent_absence_rate"]["position"] == 2
    by_unauthorised = (
        await analytics.get(f"/v1/las/{LA}/compare", params={**PERIOD, "rank_by": "unauthorised_absence_rate"})
    ).json()
    assert [s["school_urn"] for s in by_unauthorised["schools"]] == [SECONDARY, PRIMARY]  # M is authorised
    primary = (await analytics.get(f"/v1/las/{LA}/compare", params={**PERIOD, "phase": "primary"})).json()
    assert [s["school_urn"] for s in primary["schools"]] == [PRIMARY]
    bad = await analytics.get(f"/v1/las/{LA}/compare", params={**PERIOD, "rank_by": "vibes"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["location"] == ["query", "rank_by"]


async def test_tiers_of_a_school_fall_back_to_its_las_then_the_defaults(analytics: httpx.AsyncClient) -> None:
    url = f"/v1/schools/{PRIMARY}/attendance-tiers"
    assert (await analytics.get(url)).json()["source"] == "default"
    la_tiers = {"tiers": [{"name": "green", "above_percent": 93}, {"name": "red", "above_percent": 0}]}
    assert (await analytics.put(f"/v1/las/{LA}/attendance-tiers", json=la_tiers)).status_code == 200
    assert (await analytics.get(url)).json() == {**la_tiers, "source": "la"}
    upside_down = {"tiers": [{"name": "low", "above_percent": 50}, {"name": "high", "above_percent": 90}]}
    refused = await analytics.put(url, json=upside_down)
    assert refused.status_code == 422
    assert ["body", "tiers", 1, "above_percent"] in [e["location"] for e in refused.json()["errors"]]
    own = {"tiers": [{"name": "fine", "above_percent": 85}, {"name": "worry", "above_percent": 0}]}
    assert (await analytics.put(url, json=own)).json()["source"] == "school"
    pupils = (
        await analytics.get(f"/v1/schools/{PRIMARY}/absence-bands/pupils", params={**PERIOD, "band": "10-15"})
    ).json()
    assert pupils["items"][0]["tier"] == "fine"  # 90% attendance is above 85
    assert (await analytics.delete(url)).status_code == 204
    assert (await analytics.get(url)).json()["source"] == "la"


async def test_a_trust_sees_its_schools_side_by_side_and_nothing_else(
    analytics: httpx.AsyncClient,
) -> None:
    officer = bearer(Role.TRUST, subject="ceo@oak", trust_id=TRUST)
    found = await analytics.get(
        f"/v1/trusts/{TRUST}/attendance", params={**PERIOD, "group_by": "fsm_eligible"}, headers=officer
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["name"], [s["school_urn"] for s in body["schools"]]) == ("Oak Learning Trust", [PRIMARY, SECONDARY])
    primary = body["schools"][0]
    assert (primary["figures"]["possible_sessions"], primary["persistent_absence_pupils"]) == (88, 3)
    assert {g["group"]: g["pupils"] for g in primary["groups"]} == {"yes": 2, "no": 3}
    assert (body["total"]["figures"]["possible_sessions"], body["total"]["pupils"]) == (108, 6)
    assert body["total"]["persistent_absence_rate"] == round(100 * 4 / 6, 2)
    compare = (await analytics.get(f"/v1/trusts/{TRUST}/compare", params=PERIOD, headers=officer)).json()
    assert [s["school_urn"] for s in compare["schools"]] == [PRIMARY, SECONDARY]
    bands = (await analytics.get(f"/v1/trusts/{TRUST}/absence-bands", params=PERIOD, headers=officer)).json()
    assert bands["pupils_counted"] == 5
    # Its schools' own figures, yes; a school outside it, or another trust, is not found.
    assert (await analytics.get(f"/v1/schools/{PRIMARY}/attendance", params=PERIOD, headers=officer)).status_code == 200
    assert (await analytics.get(f"/v1/schools/{OUTSIDE}/attendance", headers=officer)).status_code == 404
    assert (await analytics.get("/v1/trusts/99999/attendance", headers=officer)).status_code == 404
    assert (await analytics.get(f"/v1/las/{LA}/compare", headers=officer)).status_code == 403
    unknown = await analytics.get("/v1/trusts/99999/attendance")  # an administrator: no such trust
    assert unknown.status_code == 404
    malformed = await analytics.get("/v1/trusts/TR-1/attendance")
    assert malformed.status_code == 422
