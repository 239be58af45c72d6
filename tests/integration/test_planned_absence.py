"""Absence known before the session, against real PostgreSQL over ASGI: leave asked for by a
parent and decided by staff, the planned marks it writes, a register taken over them, partly
agreed, reduced and cancelled leave; part-time timetables and their planned C2 marks.

The register refuses a register for a day after today, so these tests set the register's
clock: a plan is made on one day and its register taken on a later one."""

from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared.auth import Role, pupil_scope_key
from register_service.api import routes
from register_service.app import create_app
from register_service.service import registers
from register_service.settings import Settings
from tests.factories import MADE_BY, calendar_body, make_upn, pupil_body, school_body
from tests.helpers import app_client, bearer

pytestmark = pytest.mark.integration

URN, OTHER_URN = "100001", "100002"
A, B, C = (make_upn(serial=720 + i) for i in range(3))
STAFF = bearer(Role.STAFF, subject="head-of-year", schools=[URN])
PARENT_OF_A = bearer(Role.PARENT, subject="parent-of-a", pupils=[pupil_scope_key(URN, A)])


class Clock:
    def __init__(self) -> None:
        self.today = date(2026, 11, 9)  # a Monday after half-term

    def __call__(self) -> date:
        return self.today


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(routes, "today_in_england", clock)
    monkeypatch.setattr(registers, "today_in_england", clock)
    yield clock


@pytest.fixture
async def client(database_url: str, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN, subject="mis-vendor")) as client:
        for urn in (URN, OTHER_URN):
            assert (await client.put(f"/v1/schools/{urn}", json=school_body())).status_code == 200
            assert (await client.put(f"/v1/schools/{urn}/calendar", json=calendar_body())).status_code == 200
        for upn in (A, B, C):
            assert (await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn))).status_code == 201
        yield client


async def take(client: httpx.AsyncClient, day: str, session: str, marks: list[dict]) -> httpx.Response:
    return await client.put(f"/v1/schools/{URN}/registers/{day}/{session}", json={"marks": marks})


def present(*upns: str, code: str = "/") -> list[dict]:
    return [{"upn": u, "code": code} for u in upns]


async def ask(client: httpx.AsyncClient, upn: str, body: dict, headers: dict = PARENT_OF_A) -> httpx.Response:
    return await client.post(f"/v1/schools/{URN}/pupils/{upn}/leave-requests", json=body, headers=headers)


async def decide(client: httpx.AsyncClient, request_id: str, body: dict, headers: dict = STAFF) -> httpx.Response:
    return await client.post(f"/v1/schools/{URN}/leave-requests/{request_id}/decision", json=body, headers=headers)


async def events_of(engine: AsyncEngine, event_type: str) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT envelope FROM register.outbox WHERE event_type = :t ORDER BY id"), {"t": event_type}
        )
        return [orjson.loads(r.envelope)["data"] for r in rows]


async def test_agreed_leave_stands_on_the_register_and_only_the_pupil_coming_in_replaces_it(
    client: httpx.AsyncClient, clock: Clock, engine: AsyncEngine
) -> None:
    body = {"first_day": "2026-11-10", "last_day": "2026-11-10", "sessions": "am", "reason": "medical", "note": "x"}
    asked = await ask(client, A, body)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["code"], request["requested_by_role"]) == ("pending", "M", "parent")
    assert (await ask(client, B, body)).status_code == 404  # not the parent's child
    assert (await decide(client, request["id"], {"outcome": "agreed"}, headers=PARENT_OF_A)).status_code == 403

    agreed = await decide(client, request["id"], {"outcome": "agreed"})
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["agreed_sessions"] == [{"date": "2026-11-10", "session": "am"}]
    assert agreed.json()["decided_by"] == "head-of-year"
    ahead = (await client.get(f"/v1/schools/{URN}/registers/2026-11-10/am")).json()
    assert [(p["upn"], p["code"], p["leave_request_id"]) for p in ahead["planned"]] == [(A, "M", request["id"])]

    clock.today = date(2026, 11, 10)
    overwritten = await take(client, "2026-11-10", "am", [{"upn": A, "code": "N"}, *present(B, C)])
    assert overwritten.status_code == 422
    [error] = overwritten.json()["errors"]
    assert (error["index"], error["field"]) == (0, "code")
    assert "planned M" in error["message"] and request["id"] in error["message"]

    taken = await take(client, "2026-11-10", "am", present(B, C))
    assert taken.status_code == 200, taken.text
    assert (taken.json()["recorded"], taken.json()["planned"]) == (2, 1)
    register = (await client.get(f"/v1/schools/{URN}/registers/2026-11-10/am")).json()
    mark_of_a = next(m for m in register["marks"] if m["upn"] == A)
    assert (mark_of_a["code"], mark_of_a["revision"], mark_of_a["planned"]) == ("M", 1, True)

    amend_url = f"/v1/schools/{URN}/registers/2026-11-10/am/marks/{A}"
    refused = await client.patch(amend_url, json={"code": "N", "reason": "not seen", "made_by": MADE_BY})
    assert refused.status_code == 422 and "planned M" in refused.text

    came_in = await take(client, "2026-11-10", "am", present(A, B, C))
    assert came_in.status_code == 200, came_in.text
    history = (await client.get(f"/v1/schools/{URN}/pupils/{A}/marks")).json()["entries"]
    assert [(e["code"], e["revision"], e["previous_code"], e["reason"]) for e in history] == [
        ("M", 1, None, f"planned: leave request {request['id']}"),
        ("/", 2, "M", f"the pupil came in: replaces the planned M of leave request {request['id']}"),
    ]
    [requested] = await events_of(engine, "uk.attendance.leave.requested.v1")
    assert (requested["upn"], requested["reason"]) == (A, "medical")
    [decided] = await events_of(engine, "uk.attendance.leave.decided.v1")
    assert (decided["outcome"], decided["code"], decided["decision"]) == ("agreed", "M", 1)
    assert decided["sessions"] == [{"date": "2026-11-10", "session": "am"}]


async def test_partly_agreed_then_reduced_leave_plans_only_the_sessions_still_agreed(
    client: httpx.AsyncClient, clock: Clock, engine: AsyncEngine
) -> None:
    body = {"first_day": "2026-11-10", "last_day": "2026-11-12", "reason": "religious_observance"}
    request = (await ask(client, A, body, headers=STAFF)).json()
    assert request["requested_by_role"] == "staff"
    two = [{"date": "2026-11-11", "session": "am"}, {"date": "2026-11-11", "session": "pm"}]
    no_reason = await decide(client, request["id"], {"outcome": "partly_agreed", "sessions": two})
    assert no_reason.status_code == 422
    outside = [{"date": "2026-11-13", "session": "am"}]
    not_asked = await decide(client, request["id"], {"outcome": "partly_agreed", "sessions": outside, "reason": "x"})
    assert not_asked.status_code == 422 and not_asked.json()["errors"][0]["field"] == "sessions[0]"

    partly = await decide(client, request["id"], {"outcome": "partly_agreed", "sessions": two, "reason": "one day"})
    assert partly.status_code == 200, partly.text
    assert partly.json()["status"] == "partly_agreed"
    for day, expected in (("2026-11-10", []), ("2026-11-11", [(A, "R")])):
        register = (await client.get(f"/v1/schools/{URN}/registers/{day}/am")).json()
        assert [(p["upn"], p["code"]) for p in register["planned"]] == expected

    again = await decide(client, request["id"], {"outcome": "agreed"})
    assert again.status_code == 409
    reduced = await decide(
        client, request["id"], {"outcome": "partly_agreed", "sessions": two[:1], "reason": "morning only"}
    )
    assert reduced.status_code == 200, reduced.text
    assert reduced.json()["decision"] == 2
    afternoon = (await client.get(f"/v1/schools/{URN}/registers/2026-11-11/pm")).json()
    assert afternoon["planned"] == []

    clock.today = date(2026, 11, 11)
    taken = await take(client, "2026-11-11", "pm", [{"upn": A, "code": "N"}, *present(B, C, code="\\")])
    assert taken.status_code == 200, taken.text  # no longer planned: N stands
    decisions = await events_of(engine, "uk.attendance.leave.decided.v1")
    assert [(d["outcome"], d["decision"], len(d["sessions"])) for d in decisions] == [
        ("partly_agreed", 1, 2),
        ("partly_agreed", 2, 1),
    ]


async def test_a_cancelled_leave_removes_the_planned_marks_not_yet_taken(
    client: httpx.AsyncClient, clock: Clock, engine: AsyncEngine
) -> None:
    body = {"first_day": "2026-11-10", "last_day": "2026-11-11", "reason": "exceptional_circumstances"}
    request = (await ask(client, A, body)).json()
    assert (await decide(client, request["id"], {"outcome": "agreed"})).status_code == 200
    clock.today = date(2026, 11, 10)
    assert (await take(client, "2026-11-10", "am", present(B, C))).status_code == 200  # A's C stands

    cancel_url = f"/v1/schools/{URN}/pupils/{A}/leave-requests/{request['id']}/cancel"
    cancelled = await client.post(cancel_url, json={"reason": "the funeral was moved"}, headers=PARENT_OF_A)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["agreed_sessions"] == [{"date": "2026-11-10", "session": "am"}]  # already taken
    for day, session in (("2026-11-10", "pm"), ("2026-11-11", "am"), ("2026-11-11", "pm")):
        assert (await client.get(f"/v1/schools/{URN}/registers/{day}/{session}")).json()["planned"] == []
    assert (await client.post(cancel_url, json={"reason": "again"}, headers=PARENT_OF_A)).status_code == 409

    taken = await take(client, "2026-11-10", "pm", [{"upn": A, "code": "N"}, *present(B, C, code="\\")])
    assert taken.status_code == 200, taken.text
    morning = (await client.get(f"/v1/schools/{URN}/registers/2026-11-10/am")).json()
    assert next(m["code"] for m in morning["marks"] if m["upn"] == A) == "C"
    decisions = await events_of(engine, "uk.attendance.leave.decided.v1")
    assert [(d["outcome"], d["decision"], d["code"]) for d in decisions] == [("agreed", 1, "C"), ("cancelled", 2, None)]


async def test_leave_that_cannot_be_asked_for_or_agreed_is_refused_with_the_field(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    def body(first: str, last: str | None = None, reason: str = "medical") -> dict:
        return {"first_day": first, "last_day": last or first, "reason": reason}

    cases = {
        "past": (body("2026-11-06"), "first_day"),
        "backwards": (body("2026-11-12", "2026-11-10"), "last_day"),
        "weekend": (body("2026-11-14"), "first_day"),
        "INSET day": (body("2026-11-20"), "first_day"),
        "too long": (body("2026-11-10", "2026-12-04"), "last_day"),  # 19 school days, the school allows 10
        "unknown ground": (body("2026-11-10", reason="shopping"), "reason"),
    }
    for case, (request, field) in cases.items():
        response = await ask(client, A, request)
        assert response.status_code == 422, case
        assert field in str(response.json()["errors"][0]), (case, response.json())

    holiday = (await ask(client, A, body("2026-11-10", reason="family_holiday"))).json()
    assert holiday["code"] is None
    agreed = await decide(client, holiday["id"], {"outcome": "agreed"})
    assert agreed.status_code == 422 and agreed.json()["errors"][0]["field"] == "outcome"
    refused = await decide(client, holiday["id"], {"outcome": "refused", "reason": "term-time holiday"})
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert (await decide(client, holiday["id"], {"outcome": "refused", "reason": "again"})).status_code == 409

    other_staff = bearer(Role.STAFF, schools=[OTHER_URN])
    late = (await ask(client, A, body("2026-11-10"))).json()
    assert (await decide(client, late["id"], {"outcome": "agreed"}, headers=other_staff)).status_code in (403, 404)
    not_here = await client.post(
        f"/v1/schools/{OTHER_URN}/leave-requests/{late['id']}/decision", json={"outcome": "agreed"}
    )
    assert not_here.status_code == 404

    clock.today = date(2026, 11, 10)
    assert (await take(client, "2026-11-10", "am", present(A, B, C))).status_code == 200
    retrospective = await decide(client, late["id"], {"outcome": "agreed"})
    assert retrospective.status_code == 422
    assert "already marked" in retrospective.json()["errors"][0]["message"]
    clock.today = date(2026, 11, 11)
    past = await decide(client, late["id"], {"outcome": "agreed"})
    assert past.status_code == 422 and "retrospectively" in past.json()["errors"][0]["message"]


async def test_a_part_time_timetable_plans_c2_is_reviewed_extended_past_six_weeks_and_returned_to_the_la(
    client: httpx.AsyncClient, clock: Clock, engine: AsyncEngine
) -> None:
    url = f"/v1/schools/{URN}/pupils/{A}/part-time-timetables"
    mornings = ["mon_am", "tue_am", "wed_am", "thu_am", "fri_am"]
    body = {
        "reason": "medical",
        "reason_note": "phased return after surgery",
        "attended_sessions": mornings,
        "start_date": "2026-11-09",
        "parents_consent": {"name": "Pat Parent", "given_on": "2026-11-06"},
        "social_worker_told": True,
    }
    for bad, field in (
        ({"end_date": "2027-01-08"}, "end_date"),  # past six school weeks
        ({"end_date": "2026-11-06"}, "end_date"),  # before the start
        ({"attended_sessions": []}, "attended_sessions"),
        ({"attended_sessions": ["mon_am", "mon_am"]}, "attended_sessions"),
        ({"reason": "behaviour"}, "reason"),
    ):
        refused = await client.post(url, json={**body, **bad}, headers=STAFF)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in str(refused.json()["errors"][0]), (bad, refused.json())

    created = await client.post(url, json=body, headers=STAFF)
    assert created.status_code == 201, created.text
    timetable = created.json()
    # Six school weeks from Monday 9 November end with the term on 18 December; the first
    # review falls in the second week, whose Friday is an INSET day.
    assert (timetable["end_date"], timetable["next_review_on"]) == ("2026-12-18", "2026-11-19")
    assert timetable["planned_sessions"] == 29  # every open afternoon: 6 weeks less the INSET Friday
    overlapping = await client.post(url, json={**body, "start_date": "2026-12-14"}, headers=STAFF)
    assert overlapping.status_code == 422 and timetable["id"] in overlapping.text
    afternoon = (await client.get(f"/v1/schools/{URN}/registers/2026-11-09/pm")).json()
    assert [(p["upn"], p["code"], p["timetable_id"]) for p in afternoon["planned"]] == [(A, "C2", timetable["id"])]
    morning = (await client.get(f"/v1/schools/{URN}/registers/2026-11-09/am")).json()
    assert morning["planned"] == []

    taken = await take(client, "2026-11-09", "pm", present(B, C, code="\\"))
    assert taken.json()["planned"] == 1
    clock.today = date(2026, 11, 23)
    overdue = await client.get(f"/v1/schools/{URN}/part-time-timetables", params={"attention": "review_overdue"})
    assert [t["id"] for t in overdue.json()["items"]] == [timetable["id"]]

    item = f"{url}/{timetable['id']}"
    no_reason = await client.patch(item, json={"extend_to": "2027-01-15"}, headers=STAFF)
    assert no_reason.status_code == 422 and "extension_reason" in no_reason.text
    extended = await client.patch(
        item,
        json={
            "extend_to": "2027-01-15",
            "extension_reason": "consultant advises two more weeks",
            "review_held_on": "2026-11-23",
            "review_notes": "mornings going well",
            "la_notified_on": "2026-11-23",
        },
        headers=STAFF,
    )
    assert extended.status_code == 200, extended.text
    changed = extended.json()
    assert (changed["end_date"], changed["version"], changed["review_overdue"]) == ("2027-01-15", 2, False)
    assert changed["next_review_on"] == "2026-12-04"  # two school weeks after the review
    assert changed["planned_sessions"] == 29 + 9  # 5 to 15 January's afternoons
    assert changed["extensions"][0]["reason"] == "consultant advises two more weeks"

    la = bearer(Role.LA, la_code="201")
    returned = await client.get("/v1/las/201/part-time-timetables", headers=la)
    assert returned.status_code == 200, returned.text
    [row] = returned.json()["items"]
    assert (row["upn"], row["la_notified_on"], row["social_worker_told"]) == (A, "2026-11-23", True)
    spreadsheet = await client.get("/v1/las/201/part-time-timetables", headers={**la, "Accept": "text/csv"})
    assert spreadsheet.headers["content-type"].startswith("text/csv") and A in spreadsheet.text
    assert (await client.get("/v1/las/202/part-time-timetables", headers=la)).status_code in (403, 404)

    ended = await client.patch(item, json={"end_on": "2026-12-04", "end_reason": "full time again"}, headers=STAFF)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["planned_sessions"]) == ("ended", 19)  # 9 Nov to 4 Dec
    assert (await client.get(f"/v1/schools/{URN}/registers/2026-12-07/pm")).json()["planned"] == []
    assert (await client.patch(item, json={"review_held_on": "2026-11-23"}, headers=STAFF)).status_code == 409
    versions = (await client.get(f"{item}/versions")).json()
    assert [(v["version"], v["change"]) for v in versions] == [
        (1, "agreed"),
        (2, "extended, reviewed, la notified on"),
        (3, "ended"),
    ]
    published = await events_of(engine, "uk.attendance.part-time-timetable.set.v1")
    assert [(e["version"], e["status"], e["extensions"]) for e in published] == [
        (1, "active", 0),
        (2, "active", 1),
        (3, "ended", 1),
    ]
    assert all("reason_note" not in e for e in published)  # free text stays in the register


async def test_a_pupil_deleted_from_the_register_takes_no_planned_mark_after_leaving(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    request = (await ask(client, A, {"first_day": "2026-11-12", "last_day": "2026-11-12", "reason": "medical"})).json()
    assert (await decide(client, request["id"], {"outcome": "agreed"})).status_code == 200
    timetable = {"reason": "medical", "attended_sessions": ["mon_am"], "start_date": "2026-11-09"}
    created = await client.post(f"/v1/schools/{URN}/pupils/{A}/part-time-timetables", json=timetable, headers=STAFF)
    assert created.status_code == 201, created.text

    deletion = {"ground": "a", "date": "2026-11-10", "destination": {"school_name": "Elm Park"}}
    deleted = await client.post(f"/v1/schools/{URN}/pupils/{A}/deletion", json=deletion)
    assert deleted.status_code == 200, deleted.text
    for day in ("2026-11-11", "2026-11-12", "2026-11-16"):
        assert (await client.get(f"/v1/schools/{URN}/registers/{day}/pm")).json()["planned"] == []
    kept = (await client.get(f"/v1/schools/{URN}/registers/2026-11-10/pm")).json()["planned"]
    assert [p["upn"] for p in kept] == [A]  # the last day on roll keeps its plan
    ended = (await client.get(f"/v1/schools/{URN}/pupils/{A}/part-time-timetables/{created.json()['id']}")).json()
    assert (ended["status"], ended["ended_on"]) == ("ended", "2026-11-10")
    assert ended["end_reason"] == "the pupil left the school"


async def test_a_bulk_request_with_one_row_over_a_planned_mark_stores_nothing(
    client: httpx.AsyncClient, clock: Clock, engine: AsyncEngine
) -> None:
    request = (await ask(client, A, {"first_day": "2026-11-10", "last_day": "2026-11-10", "reason": "medical"})).json()
    assert (await decide(client, request["id"], {"outcome": "agreed"})).status_code == 200
    clock.today = date(2026, 11, 10)
    registers = [
        {"urn": URN, "date": "2026-11-10", "session": "pm", "marks": present(A, B, C, code="\\")},
        {"urn": URN, "date": "2026-11-10", "session": "am", "marks": [*present(B, C), {"upn": A, "code": "O"}]},
    ]
    refused = await client.put("/v1/registers", json={"registers": registers})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["register"], error["index"], error["field"]) == (1, 2, "code")
    assert "planned M" in error["message"]
    async with engine.connect() as conn:
        stored = await conn.execute(text("SELECT count(*) FROM register.marks WHERE date = '2026-11-10'"))
        assert stored.scalar() == 0  # not the afternoon's, nor the planned marks that would have stood
    registers[1]["marks"][2]["code"] = "M"
    taken = await client.put("/v1/registers", json={"registers": registers})
    assert taken.status_code == 200, taken.text
    assert [(r["session"], r["recorded"], r["planned"]) for r in taken.json()["registers"]] == [
        ("pm", 3, 1),  # A came in for the afternoon: the planned M stands, then the \\ replaces it
        ("am", 2, 1),
    ]
