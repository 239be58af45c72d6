"""The register service against real PostgreSQL, called over ASGI: registers, amendments and
their history, calendars, lateness, deletions, parent reports, changes since a cursor, bulk
writes and Idempotency-Key. Its relay points at no broker: these tests read the outbox."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from attendance_shared.auth import Role, pupil_scope_key
from attendance_shared.clock import today_in_england
from attendance_shared.events import pupil_key
from register_service.app import create_app
from register_service.service.reminders import remind_missing_registers
from register_service.settings import Settings
from tests.factories import MADE_BY, calendar_body, make_upn, pupil_body, school_body
from tests.helpers import app_client, bearer, scalar, wait_until

pytestmark = pytest.mark.integration

URN, OTHER_URN = "100001", "100002"
A, B, C = (make_upn(serial=700 + i) for i in range(3))
MONDAY = "2026-11-02"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN, subject="mis-vendor")) as client:
        assert (await client.put(f"/v1/schools/{URN}", json=school_body())).status_code == 200
        assert (await client.put(f"/v1/schools/{URN}/calendar", json=calendar_body())).status_code == 200
        for upn in (A, B, C):
            assert (await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn))).status_code == 201
        yield client


async def take(client: httpx.AsyncClient, day: str, session: str, marks: list[dict], **kwargs) -> httpx.Response:
    return await client.put(f"/v1/schools/{URN}/registers/{day}/{session}", json={"marks": marks}, **kwargs)


@asynccontextmanager
async def outbox_trigger(engine: AsyncEngine, name: str, body: str, *, each: str) -> AsyncIterator[None]:
    """A trigger on the register's outbox for part of a test: `body` is its PL/pgSQL, run
    before each inserted ROW or STATEMENT."""
    async with engine.begin() as conn:
        await conn.execute(
            text(f"CREATE FUNCTION register.{name}() RETURNS trigger AS $$ BEGIN {body} END $$ LANGUAGE plpgsql")
        )
        await conn.execute(
            text(
                f"CREATE TRIGGER {name} BEFORE INSERT ON register.outbox "
                f"FOR EACH {each} EXECUTE FUNCTION register.{name}()"
            )
        )
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER {name} ON register.outbox"))


def present(*upns: str) -> list[dict]:
    return [{"upn": u, "code": "/"} for u in upns]


async def test_the_full_history_survives_several_amendments_and_each_is_an_event(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert (await take(client, MONDAY, "am", [{"upn": A, "code": "N"}, *present(B, C)])).status_code == 200
    for code, reason in (
        ("I", "parent phoned: ill"),
        ("M", "GP letter shows a dentist visit"),
        ("I", "letter was wrong"),
    ):
        response = await client.patch(
            f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{A}",
            json={"code": code, "reason": reason, "made_by": MADE_BY},
        )
        assert response.status_code == 200, response.text
    history = (await client.get(f"/v1/schools/{URN}/pupils/{A}/marks")).json()["entries"]
    assert [(e["code"], e["revision"], e["previous_code"], e["reason"]) for e in history] == [
        ("N", 1, None, None),
        ("I", 2, "N", "parent phoned: ill"),
        ("M", 3, "I", "GP letter shows a dentist visit"),
        ("I", 4, "M", "letter was wrong"),
    ]
    assert {e["recorded_by"] for e in history} == {"mis-vendor"}
    assert [(e["made_by_name"], e["made_by_position"]) for e in history[1:]] == [
        (MADE_BY["name"], MADE_BY["position"])
    ] * 3
    # Each entry is a row, and each reaches an event: the register's three marks one event,
    # each amendment its own. The register is never updated in place.
    assert await scalar(engine, "SELECT count(*) FROM register.marks") == 6
    events = await scalar(
        engine,
        "SELECT string_agg(event_type, ' ' ORDER BY id) FROM register.outbox WHERE topic = 'attendance.marks.v1'",
    )
    assert events.split() == ["uk.attendance.register.marked.v1"] + ["uk.attendance.mark.amended.v1"] * 3

    # The register as it stood after the first amendment.
    second = history[1]["recorded_at"]
    as_it_was = (await client.get(f"/v1/schools/{URN}/registers/{MONDAY}/am", params={"as_at": second})).json()
    assert {m["upn"]: m["code"] for m in as_it_was["marks"]} == {A: "I", B: "/", C: "/"}
    before = (
        await client.get(f"/v1/schools/{URN}/registers/{MONDAY}/am", params={"as_at": "2026-01-01T00:00:00Z"})
    ).json()
    assert before["marks"] == []


async def test_an_amendment_needs_a_reason_and_a_real_change(client: httpx.AsyncClient) -> None:
    await take(client, MONDAY, "am", present(A))
    url = f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{A}"
    assert (await client.patch(url, json={"code": "I"})).status_code == 422
    assert (await client.patch(url, json={"code": "I", "reason": "  ", "made_by": MADE_BY})).status_code == 422
    assert (await client.patch(url, json={"code": "I", "reason": "ill"})).status_code == 422  # who made it
    assert (await client.patch(url, json={"code": "/", "reason": "again", "made_by": MADE_BY})).status_code == 422
    missing = await client.patch(
        url.replace("2026-11-02", "2026-11-03"), json={"code": "I", "reason": "ill", "made_by": MADE_BY}
    )
    assert missing.status_code == 404


async def test_a_bad_register_names_every_row_and_stores_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    stranger = make_upn(serial=799)
    marks = [
        {"upn": A, "code": "/"},
        {"upn": A, "code": "/"},  # twice
        {"upn": "A12", "code": "/"},  # malformed
        {"upn": "X" + A[1:], "code": "/"},  # wrong check letter
        {"upn": stranger, "code": "/"},  # not on roll
        {"upn": B, "code": "H"},  # retired code
        {"upn": C, "code": "U"},  # U without minutes late
    ]
    response = await take(client, MONDAY, "am", marks)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    named = {(e["index"], e["field"]) for e in response.json()["errors"]}
    assert named == {(1, "upn"), (2, "upn"), (3, "upn"), (4, "upn"), (5, "code"), (6, "minutes_late")}
    assert await scalar(engine, "SELECT count(*) FROM register.marks") == 0
    assert await scalar(engine, "SELECT count(*) FROM register.outbox WHERE topic = 'attendance.marks.v1'") == 0

    assert (await take(client, "2999-01-04", "am", present(A))).status_code == 422  # the future
    assert (
        await client.put(f"/v1/schools/{URN}/registers/{MONDAY}/noon", json={"marks": present(A)})
    ).status_code == 422


async def test_a_mark_and_its_event_are_one_transaction(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """If the event cannot be written, the mark is not kept either."""
    async with outbox_trigger(engine, "refuse", "RAISE EXCEPTION 'no';", each="ROW"):
        refused = await take(client, MONDAY, "am", present(A, B))
        assert refused.status_code == 500 and refused.json()["title"] == "Internal server error"
        assert await scalar(engine, "SELECT count(*) FROM register.marks") == 0
    assert (await take(client, MONDAY, "am", present(A, B))).status_code == 200
    assert await scalar(engine, "SELECT count(*) FROM register.marks") == 2


async def test_connections_the_server_closed_are_replaced_without_failing_a_request(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """No ping before each checkout: a pooled connection the server has closed (a restart, a
    terminated backend) is noticed by the driver and replaced when next checked out."""
    assert (await take(client, MONDAY, "am", present(A, B))).status_code == 200
    async with engine.connect() as conn:
        killed = (
            await conn.execute(
                text(
                    "WITH others AS MATERIALIZED (SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()) "
                    "SELECT array_agg(pid) FROM others WHERE pg_terminate_backend(pid)"
                )
            )
        ).scalar_one()
    assert killed

    async def gone() -> bool:
        left = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"
        async with engine.connect() as conn:
            return (await conn.execute(text(left), {"pids": killed})).scalar_one() == 0

    await wait_until(gone, what="the terminated backends to exit")
    await asyncio.sleep(0.1)  # the closed sockets reach the app's event loop
    for day in ("2026-11-03", "2026-11-04", "2026-11-05"):
        assert (await take(client, day, "am", present(A, B))).status_code == 200


async def test_a_request_whose_database_connection_dies_is_told_to_retry_and_stores_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The connection is lost mid-request (here the backend ends itself while writing the
    outbox): a 503 with Retry-After, nothing stored, and the same request then succeeds."""
    ends_itself = "PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL;"
    async with outbox_trigger(engine, "end_own_backend", ends_itself, each="STATEMENT"):
        lost = await take(client, MONDAY, "am", present(A, B), headers={"Idempotency-Key": "lost-1"})
        assert lost.status_code == 503, lost.text
        assert lost.headers["retry-after"] == "1"
        assert lost.headers["content-type"] == "application/problem+json"
        assert await scalar(engine, "SELECT count(*) FROM register.marks") == 0
    again = await take(client, MONDAY, "am", present(A, B), headers={"Idempotency-Key": "lost-1"})
    assert again.status_code == 200 and again.json()["recorded"] == 2


async def test_a_value_postgresql_refuses_in_a_copied_register_is_a_422_and_stores_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Registers are stored with COPY on the driver's own connection; its errors are raised as
    any statement's are, so a NUL in a note is the client's error, not a 500."""
    refused = await take(client, MONDAY, "am", [{"upn": A, "code": "B", "note": "off site\u0000visit"}])
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert await scalar(engine, "SELECT count(*) FROM register.marks") == 0
    assert (await take(client, MONDAY, "am", present(A))).status_code == 200


async def test_the_calendar_decides_which_days_take_a_register(client: httpx.AsyncClient) -> None:
    half_term, inset, saturday = "2026-10-27", "2026-11-20", "2026-11-07"
    refused = await take(client, half_term, "am", present(A))
    assert refused.status_code == 422 and "holiday" in refused.json()["errors"][0]["message"]
    assert (await take(client, saturday, "am", present(A))).status_code == 422
    assert (await take(client, inset, "am", present(A))).status_code == 422
    closed = await take(client, inset, "am", [{"upn": A, "code": "#"}])
    assert closed.status_code == 200, closed.text

    calendar = (await client.get(f"/v1/schools/{URN}/calendar", params={"academic_year": 2026})).json()
    # 194 weekdays in term time, less two INSET days and a bank holiday
    assert calendar["school_days"] == 191 and calendar["possible_sessions"] == 2 * 191
    bad = calendar_body() | {"terms": [{"name": "autumn", "start": "2026-09-03", "end": "2026-08-01"}]}
    response = await client.put(f"/v1/schools/{URN}/calendar", json=bad)
    assert response.status_code == 422 and response.json()["errors"][0]["field"].startswith("terms[0]")


async def test_late_marks_carry_minutes_that_agree_with_the_closing_time(client: httpx.AsyncClient) -> None:
    # The default register is open 08:40 to 09:00: 20 minutes.
    ok = await take(
        client, MONDAY, "am", [{"upn": A, "code": "L", "minutes_late": 15}, {"upn": B, "code": "U", "minutes_late": 25}]
    )
    assert ok.status_code == 200, ok.text
    wrong = await take(client, MONDAY, "pm", [{"upn": A, "code": "L", "minutes_late": 25}])
    assert "that is U" in wrong.json()["errors"][0]["message"]
    register = (await client.get(f"/v1/schools/{URN}/registers/{MONDAY}/am")).json()
    assert {m["upn"]: m["minutes_late"] for m in register["marks"]} == {A: 15, B: 25}
    too_long = school_body() | {"am_register_opens": "08:20", "am_register_closes": "09:00"}
    assert (await client.put(f"/v1/schools/{URN}", json=too_long)).status_code == 422


async def test_a_deleted_pupil_keeps_their_record_and_takes_no_more_marks(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await take(client, MONDAY, "am", present(A, B, C))
    deletion = {
        "ground": "a",
        "date": "2026-11-03",
        "destination": {"school_urn": "100777", "school_name": "Hill School"},
    }
    deleted = await client.post(f"/v1/schools/{URN}/pupils/{C}/deletion", json=deletion)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["left_on"] == "2026-11-03" and deleted.json()["deletion_ground"] == "a"
    assert (await take(client, "2026-11-03", "am", present(A, B, C))).status_code == 200  # the last day on roll
    after = await take(client, "2026-11-04", "am", present(A, B, C))
    assert after.status_code == 422 and after.json()["errors"][0]["index"] == 2
    assert (await client.post(f"/v1/schools/{URN}/pupils/{C}/deletion", json=deletion)).status_code == 409
    assert (
        await client.post(f"/v1/schools/{URN}/pupils/{B}/deletion", json={"ground": "z", "date": "2026-11-03"})
    ).status_code == 422
    early = await client.post(f"/v1/schools/{URN}/pupils/{B}/deletion", json={"ground": "a", "date": "2026-11-01"})
    # Issue 22: B has marks after that date. The answer says what to do, not "amend", as no
    # code means "not on roll" and the registers are never changed to delete a pupil.
    assert early.status_code == 409
    assert "2026-11-03 or later" in early.json()["detail"] and "ground_met_on" in early.json()["detail"]
    backwards = {"ground": "a", "date": "2026-11-03", "ground_met_on": "2026-11-04"}
    refused = await client.post(f"/v1/schools/{URN}/pupils/{B}/deletion", json=backwards)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "ground_met_on"
    followed = {"ground": "a", "date": "2026-11-03", "ground_met_on": "2026-11-01"}
    advice = await client.post(f"/v1/schools/{URN}/pupils/{B}/deletion", json=followed)
    assert advice.status_code == 200, advice.text
    assert (advice.json()["left_on"], advice.json()["ground_met_on"]) == ("2026-11-03", "2026-11-01")
    assert (
        await scalar(engine, "SELECT count(*) FROM register.outbox WHERE event_type = 'uk.attendance.pupil.deleted.v1'")
        == 2
    )
    on_roll = (await client.get(f"/v1/schools/{URN}/pupils", params={"on_roll_on": "2026-11-04"})).json()["items"]
    assert {p["upn"] for p in on_roll} == {A}


async def test_a_pupil_who_left_may_be_admitted_again_and_each_stay_keeps_its_dates(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 22: a pupil deleted on ground g (moved away) and back a month later was refused
    as "already on the admission register"."""
    await take(client, MONDAY, "am", present(A, B, C))
    gone = {"ground": "g", "date": "2026-11-02"}
    assert (await client.post(f"/v1/schools/{URN}/pupils/{C}/deletion", json=gone)).status_code == 200
    overlapping = pupil_body(C) | {"admission_date": "2026-11-02"}
    refused = await client.post(f"/v1/schools/{URN}/pupils", json=overlapping)
    assert refused.status_code == 422 and "on roll until 2026-11-02" in refused.text
    back = await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(C) | {"admission_date": "2026-11-09"})
    assert back.status_code == 201, back.text
    again = await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(C) | {"admission_date": "2026-11-10"})
    assert again.status_code == 409  # on roll now: the register holds one open stay at a time
    pupil = (await client.get(f"/v1/schools/{URN}/pupils/{C}")).json()
    assert (pupil["admission_date"], pupil["left_on"], pupil["deletion_ground"]) == ("2026-11-09", None, None)
    assert [(e["admission_date"], e["left_on"], e["deletion_ground"]) for e in pupil["enrolments"]] == [
        ("2025-09-01", "2026-11-02", "g"),
        ("2026-11-09", None, None),
    ]
    # Marks in either stay are taken (an amendment of the first stay too); none in between.
    assert (await take(client, "2026-11-09", "am", present(A, B, C))).status_code == 200
    between = await take(client, "2026-11-04", "am", present(A, B, C))
    assert between.status_code == 422 and between.json()["errors"][0]["index"] == 2
    amended = await client.patch(
        f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{C}",
        json={"code": "M", "reason": "letter from the GP", "made_by": MADE_BY},
    )
    assert amended.status_code == 200, amended.text
    on_roll = await client.get(f"/v1/schools/{URN}/pupils", params={"on_roll_on": "2026-11-04"})
    assert C not in {p["upn"] for p in on_roll.json()["items"]}
    between_stays = await client.get(f"/v1/schools/{URN}/pupils/{C}", params={"as_on": "2026-11-04"})
    assert between_stays.status_code == 404 and "was not on the register" in between_stays.text
    first_stay = await client.get(f"/v1/schools/{URN}/pupils/{C}", params={"as_on": "2026-10-01"})
    assert first_stay.status_code == 200
    # A later deletion ends the second stay, not the first.
    ended = await client.post(f"/v1/schools/{URN}/pupils/{C}/deletion", json={"ground": "a", "date": "2026-11-10"})
    assert ended.status_code == 200, ended.text
    enrolments = (await client.get(f"/v1/schools/{URN}/pupils/{C}")).json()["enrolments"]
    assert [(e["left_on"], e["deletion_ground"]) for e in enrolments] == [("2026-11-02", "g"), ("2026-11-10", "a")]
    events = "SELECT count(*) FROM register.outbox WHERE event_type = :t"
    assert await scalar(engine, events, t="uk.attendance.pupil.admitted.v1") == 4  # A, B, C, and C again
    assert await scalar(engine, events, t="uk.attendance.pupil.deleted.v1") == 2
    # In a batch, a returning pupil is entered again beside new ones.
    fresh = make_upn(serial=790)
    batch = {"pupils": [pupil_body(C) | {"admission_date": "2026-11-12"}, pupil_body(fresh)]}
    entered = await client.post(f"/v1/schools/{URN}/admissions", json=batch)
    assert entered.status_code == 201, entered.text
    assert len((await client.get(f"/v1/schools/{URN}/pupils/{C}")).json()["enrolments"]) == 3


async def test_a_batch_of_admissions_is_entered_whole_with_a_version_and_an_event_each(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    intake = [make_upn(serial=760 + i) for i in range(3)]
    batch = {"pupils": [pupil_body(upn, forename=f"Pupil {i}") for i, upn in enumerate(intake)]}
    admitted = await client.post(f"/v1/schools/{URN}/admissions", json=batch)
    assert admitted.status_code == 201, admitted.text
    assert admitted.json() == {"school_urn": URN, "admitted": 3, "upns": intake}
    one = (await client.get(f"/v1/schools/{URN}/pupils/{intake[2]}")).json()
    assert one["legal_forename"] == "Pupil 2" and one["address"]["postcode"] == "LS6 2AB"
    versions = "SELECT count(*) FROM register.pupil_versions WHERE upn = ANY(:upns)"
    assert await scalar(engine, versions, upns=intake) == 3
    events = await scalar(
        engine,
        "SELECT array_agg(event_type) FROM register.outbox WHERE key = ANY(:keys)",
        keys=[pupil_key(URN, upn) for upn in intake],
    )
    assert events == ["uk.attendance.pupil.admitted.v1"] * 3
    twice = await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(intake[0]))
    assert twice.status_code == 409
    assert twice.json()["detail"] == f"pupil {intake[0]} is already on the admission register of school {URN}"


async def test_two_batches_racing_to_admit_the_same_pupils_enter_them_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    intake = {"pupils": [pupil_body(make_upn(serial=780 + i)) for i in range(50)]}
    answers = await asyncio.gather(*(client.post(f"/v1/schools/{URN}/admissions", json=intake) for _ in range(4)))
    # The first to commit enters them; the others are refused whole, as a 422 naming the rows
    # if they looked after that commit, or a 409 if they looked before it and collided.
    assert [a.status_code for a in answers].count(201) == 1
    assert all(a.status_code in (201, 409, 422) for a in answers), [a.text for a in answers]
    upns = [p["upn"] for p in intake["pupils"]]
    assert await scalar(engine, "SELECT count(*) FROM register.pupils WHERE upn = ANY(:upns)", upns=upns) == 50
    assert await scalar(engine, "SELECT count(*) FROM register.pupil_versions WHERE upn = ANY(:upns)", upns=upns) == 50


async def test_a_batch_of_admissions_with_bad_rows_names_each_and_enters_none(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    new = make_upn(serial=770)
    wrong_letter = ("A" if new[0] != "A" else "B") + new[1:]
    rows = [
        pupil_body(new),
        pupil_body(wrong_letter),
        pupil_body(make_upn(serial=771), date_of_birth="2025-09-02"),  # born after admission
        pupil_body(new),  # the same pupil as row 0
        pupil_body(A),  # already on the register (the fixture admitted A)
    ]
    before = await scalar(engine, "SELECT count(*) FROM register.outbox")
    refused = await client.post(f"/v1/schools/{URN}/admissions", json={"pupils": rows})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "4 of 5 admissions are refused; nothing was stored"
    assert [(e["index"], e["field"]) for e in refused.json()["errors"]] == [
        (1, "upn"),
        (2, "admission_date"),
        (3, "upn"),
        (4, "upn"),
    ]
    assert "already on the admission register" in refused.json()["errors"][3]["message"]
    assert await scalar(engine, "SELECT count(*) FROM register.pupils WHERE upn = :upn", upn=new) == 0
    assert await scalar(engine, "SELECT count(*) FROM register.outbox") == before

    too_many = await client.post(f"/v1/schools/{URN}/admissions", json={"pupils": [pupil_body(new)] * 2001})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["location"] == ["body", "pupils"]
    key = {"Idempotency-Key": "intake-2025"}
    first = await client.post(f"/v1/schools/{URN}/admissions", json={"pupils": rows[:1]}, headers=key)
    again = await client.post(f"/v1/schools/{URN}/admissions", json={"pupils": rows[:1]}, headers=key)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (await client.post(f"/v1/schools/{URN}/admissions", json={"pupils": rows[:1]})).status_code == 422


async def test_the_database_refuses_to_delete_a_pupil_so_every_mark_keeps_its_pupil(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Marks carry no foreign key (it cost a lookup and a lock per mark); the admission
    register's rows are kept instead, and the database refuses to lose one."""
    await take(client, MONDAY, "am", present(A, B, C))
    for statement in (f"DELETE FROM register.pupils WHERE upn = '{A}'", "TRUNCATE register.pupils CASCADE"):
        with pytest.raises(Exception, match="admission register entries are kept"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    assert await scalar(engine, f"SELECT count(*) FROM register.pupils WHERE upn = '{A}'") == 1
    orphans = "SELECT count(*) FROM register.marks m LEFT JOIN register.pupils p USING (school_urn, upn)"
    assert await scalar(engine, f"{orphans} WHERE p.upn IS NULL") == 0


async def test_a_change_takes_effect_from_its_date_and_every_version_is_kept(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    change = {"effective_from": "2026-01-05", "fsm_eligible": True, "sen_status": "ehcp"}
    updated = await client.patch(f"/v1/schools/{URN}/pupils/{A}", json=change)
    assert updated.status_code == 200, updated.text
    assert updated.json()["fsm_eligible"] is True and updated.json()["legal_surname"] == "Taylor"
    before = (await client.get(f"/v1/schools/{URN}/pupils/{A}", params={"as_on": "2025-12-31"})).json()
    after = (await client.get(f"/v1/schools/{URN}/pupils/{A}", params={"as_on": "2026-01-05"})).json()
    assert (before["fsm_eligible"], before["sen_status"]) == (False, "none")
    assert (after["fsm_eligible"], after["sen_status"]) == (True, "ehcp")
    history = (await client.get(f"/v1/schools/{URN}/pupils/{A}/history")).json()["versions"]
    assert [v["effective_from"] for v in history] == ["2025-09-01", "2026-01-05"]
    event = await scalar(
        engine,
        "SELECT convert_from(envelope, 'UTF8')::jsonb -> 'data' ->> 'effective_from' FROM register.outbox "
        "WHERE event_type = 'uk.attendance.pupil.updated.v1'",
    )
    assert event == "2026-01-05"
    assert (
        await client.patch(f"/v1/schools/{URN}/pupils/{A}", json={"effective_from": "2020-01-01", "eal": True})
    ).status_code == 422
    assert (
        await client.patch(f"/v1/schools/{URN}/pupils/{A}", json={"effective_from": "2026-02-01"})
    ).status_code == 422


async def test_unexplained_absences_past_the_limit_are_listed_not_changed(client: httpx.AsyncClient) -> None:
    await take(client, MONDAY, "am", [{"upn": A, "code": "N"}, *present(B, C)])  # 2 Nov
    await take(client, "2026-11-09", "am", [{"upn": B, "code": "N"}, *present(A, C)])  # 9 Nov
    listed = (await client.get(f"/v1/schools/{URN}/unexplained-absences", params={"on": "2026-11-13"})).json()
    assert listed["older_than_school_days"] == 5
    assert [(i["upn"], i["date"], i["school_days_outstanding"]) for i in listed["items"]] == [(A, MONDAY, 8)]
    later = (await client.get(f"/v1/schools/{URN}/unexplained-absences", params={"on": "2026-11-19"})).json()
    assert {i["upn"] for i in later["items"]} == {A, B}
    register = (await client.get(f"/v1/schools/{URN}/registers/{MONDAY}/am")).json()
    assert {m["upn"]: m["code"] for m in register["marks"]}[A] == "N"  # listed, never changed


async def test_an_n_left_standing_in_july_is_overdue_in_september(client: httpx.AsyncClient) -> None:
    """Issue 22: on 5 September the list showed none of July's standing N marks, and later
    counted only the new year's school days. School days count across the summer from both
    years' calendars."""
    last_year = {
        "academic_year": 2025,
        "terms": [{"name": "summer", "start": "2026-04-13", "end": "2026-07-17"}],
        "closures": [],
    }
    assert (await client.put(f"/v1/schools/{URN}/calendar", json=last_year)).status_code == 200
    await take(client, "2026-07-14", "am", [{"upn": A, "code": "N"}, *present(B, C)])
    # 15-17 July, then 4 and 7 September (the 3rd is an INSET day): five school days.
    listed = (await client.get(f"/v1/schools/{URN}/unexplained-absences", params={"on": "2026-09-08"})).json()
    assert [(i["upn"], i["date"], i["school_days_outstanding"]) for i in listed["items"]] == [(A, "2026-07-14", 5)]
    later = (await client.get(f"/v1/schools/{URN}/unexplained-absences", params={"on": "2026-11-02"})).json()
    # September 4-30 (19), October less half-term (17), with July's three: 39.
    assert [i["school_days_outstanding"] for i in later["items"]] == [3 + 19 + 17]


async def test_registers_not_taken_by_their_close_are_listed_for_the_school_and_its_la(
    client: httpx.AsyncClient,
) -> None:
    """Issue 23 (missing registers): the morning of 2 November was taken (today, so after it
    closed: late); the afternoon never was."""
    await take(client, MONDAY, "am", present(A, B, C))
    listed = await client.get(f"/v1/schools/{URN}/missing-registers", params={"from": MONDAY, "to": MONDAY})
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["date"], i["session"], i["taken_at"] is None) for i in items] == [
        (MONDAY, "am", False),
        (MONDAY, "pm", True),
    ]
    assert items[0]["closes_at"].startswith(f"{MONDAY}T09:00:00")
    # Another school of the LA took neither register; one of another LA is not listed.
    assert (await client.put(f"/v1/schools/{OTHER_URN}", json=school_body())).status_code == 200
    assert (await client.put("/v1/schools/100003", json=school_body(la_code="202"))).status_code == 200
    la = (await client.get("/v1/las/201/missing-registers", params={"on": MONDAY})).json()
    assert [(i["school_urn"], i["session"], i["taken_at"] is None) for i in la["items"]] == [
        (URN, "am", False),
        (URN, "pm", True),
        (OTHER_URN, "am", True),
        (OTHER_URN, "pm", True),
    ]
    # The half-term week (26-30 October) and its weekend: nothing was due.
    quiet = await client.get(f"/v1/schools/{URN}/missing-registers", params={"from": "2026-10-24", "to": "2026-11-01"})
    assert quiet.json()["items"] == []
    future = await client.get(f"/v1/schools/{URN}/missing-registers", params={"from": MONDAY, "to": "2099-01-01"})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "to"
    backwards = await client.get(f"/v1/schools/{URN}/missing-registers", params={"from": "2026-11-03", "to": MONDAY})
    assert backwards.status_code == 422


async def test_a_parent_report_is_accepted_by_staff_and_amends_the_n_marks(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await take(client, MONDAY, "am", [{"upn": A, "code": "N"}, *present(B, C)])
    await take(client, MONDAY, "pm", [{"upn": A, "code": "N"}, *[{"upn": u, "code": "\\"} for u in (B, C)]])
    parent = bearer(Role.PARENT, subject="parent-of-a", pupils=[pupil_scope_key(URN, A)])
    body = {"first_day": MONDAY, "last_day": MONDAY, "reason": "sickness bug", "suggested_code": "I"}
    reported = await client.post(f"/v1/schools/{URN}/pupils/{A}/absence-reports", json=body, headers=parent)
    assert reported.status_code == 201, reported.text
    report_id = reported.json()["id"]
    elsewhere = await client.post(f"/v1/schools/{URN}/pupils/{B}/absence-reports", json=body, headers=parent)
    assert elsewhere.status_code == 404

    staff = bearer(Role.STAFF, schools=[URN])
    pending = (await client.get(f"/v1/schools/{URN}/absence-reports", headers=staff)).json()["items"]
    assert [(p["id"], p["unexplained_sessions"]) for p in pending] == [(report_id, [[MONDAY, "am"], [MONDAY, "pm"]])]
    listed = (await client.get(f"/v1/schools/{URN}/unexplained-absences", params={"on": "2026-11-13"})).json()
    assert all(i["pending_reports"] == [report_id] for i in listed["items"])

    accepted = await client.post(
        f"/v1/schools/{URN}/absence-reports/{report_id}/accept", json={"code": "I", "made_by": MADE_BY}, headers=staff
    )
    assert accepted.status_code == 200, accepted.text
    assert [(m["session"], m["code"], m["previous_code"]) for m in accepted.json()["amended"]] == [
        ("am", "I", "N"),
        ("pm", "I", "N"),
    ]
    assert accepted.json()["amended"][0]["reason"] == f"parent report {report_id}: sickness bug"
    assert accepted.json()["report"]["status"] == "accepted"
    again = await client.post(
        f"/v1/schools/{URN}/absence-reports/{report_id}/accept", json={"code": "I", "made_by": MADE_BY}, headers=staff
    )
    assert again.status_code == 409
    mine = (await client.get(f"/v1/schools/{URN}/pupils/{A}/absence-reports", headers=parent)).json()["items"]
    assert [r["status"] for r in mine] == ["accepted"]


async def test_changes_since_a_cursor_page_through_every_entry_once(client: httpx.AsyncClient) -> None:
    await take(client, MONDAY, "am", present(A, B, C))
    await client.patch(
        f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{A}",
        json={"code": "M", "reason": "dentist", "made_by": MADE_BY},
    )
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                f"/v1/schools/{URN}/marks/changes", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        if not page["items"]:
            break
        seen += [(i["upn"], i["revision"]) for i in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted([(A, 1), (B, 1), (C, 1), (A, 2)])
    await take(client, MONDAY, "pm", present(A))
    newer = (await client.get(f"/v1/schools/{URN}/marks/changes", params={"cursor": cursor})).json()
    assert [(i["upn"], i["session"]) for i in newer["items"]] == [(A, "pm")]
    assert (await client.get(f"/v1/schools/{URN}/marks/changes", params={"cursor": "x"})).status_code == 422


async def test_a_bulk_request_across_schools_is_stored_whole_or_not_at_all(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert (await client.put(f"/v1/schools/{OTHER_URN}", json=school_body(la_code="202"))).status_code == 200
    other = make_upn(la_code="202", serial=1)
    assert (await client.post(f"/v1/schools/{OTHER_URN}/pupils", json=pupil_body(other))).status_code == 201
    registers = [
        {"urn": URN, "date": MONDAY, "session": "am", "marks": present(A, B, C)},
        {"urn": OTHER_URN, "date": MONDAY, "session": "am", "marks": [{"upn": other, "code": "Q1"}]},
    ]
    refused = await client.put("/v1/registers", json={"registers": registers})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"register": 1, "index": 0, "field": "code", "message": refused.json()["errors"][0]["message"]}
    ]
    assert await scalar(engine, "SELECT count(*) FROM register.marks") == 0
    registers[1]["marks"] = [{"upn": other, "code": "/"}]
    stored = await client.put("/v1/registers", json={"registers": registers})
    assert stored.status_code == 200, stored.text
    assert [r["recorded"] for r in stored.json()["registers"]] == [3, 1]


async def test_a_retried_write_with_the_same_key_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = {"Idempotency-Key": "register-2026-11-02-am-attempt"}
    first = await take(client, MONDAY, "am", [{"upn": A, "code": "N"}], headers=key)
    await client.patch(
        f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{A}", json={"code": "I", "reason": "ill", "made_by": MADE_BY}
    )
    replay = await take(client, MONDAY, "am", [{"upn": A, "code": "N"}], headers=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    # Without the key the same body is a new register write that amends I back to N.
    assert await scalar(engine, "SELECT count(*) FROM register.marks") == 2
    different = await take(client, MONDAY, "am", [{"upn": A, "code": "/"}], headers=key)
    assert different.status_code == 422

    admit = {"Idempotency-Key": "admit-d"}
    d = make_upn(serial=750)
    results = await asyncio.gather(
        *(client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(d), headers=admit) for _ in range(3))
    )
    assert [r.status_code for r in results] == [201, 201, 201]
    assert all(r.json() == results[0].json() for r in results)  # the retries replay the first answer
    assert results[0].json()["upn"] == d and results[0].json()["address"]["postcode"] == "LS6 2AB"
    assert await scalar(engine, f"SELECT count(*) FROM register.pupil_versions WHERE upn = '{d}'") == 1


async def test_no_register_for_a_school_without_a_calendar_at_the_weekend(database_url: str) -> None:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN)) as client:
        await client.put(f"/v1/schools/{OTHER_URN}", json=school_body())
        upn = make_upn(serial=5)
        await client.post(f"/v1/schools/{OTHER_URN}/pupils", json=pupil_body(upn))
        saturday = date(2026, 11, 7).isoformat()
        url = f"/v1/schools/{OTHER_URN}/registers"
        assert (await client.put(f"{url}/{saturday}/am", json={"marks": present(upn)})).status_code == 422
        assert (await client.put(f"{url}/{MONDAY}/am", json={"marks": present(upn)})).status_code == 200


async def test_a_misspelt_query_parameter_is_refused_by_name(client: httpx.AsyncClient) -> None:
    for _ in range(2):  # the second time the route's known names come from its cache
        response = await client.get(f"/v1/schools/{URN}/pupils/{A}/marks", params={"form": "2026-11-02"})
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"location": ["query", "form"], "message": "not a parameter of this endpoint", "type": "extra_forbidden"}
        ]
    assert (await client.get(f"/v1/schools/{URN}/pupils/{A}/marks", params={"from": "2026-11-02"})).status_code == 200


async def test_the_event_log_pages_through_every_published_event_in_order(client: httpx.AsyncClient) -> None:
    await take(client, MONDAY, "am", [{"upn": u, "code": "/"} for u in (A, B, C)])
    amendment = {"code": "I", "reason": "the parent phoned", "made_by": MADE_BY}
    assert (await client.patch(f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{A}", json=amendment)).status_code == 200

    events, after = [], 0
    while True:
        page = (await client.get("/v1/events", params={"after": after, "limit": 2})).json()
        events += page["events"]
        if page["next_after"] is None:
            break
        assert len(page["events"]) == 2 and page["next_after"] == page["events"][-1]["position"]
        after = page["next_after"]
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    # the school, three admissions, the register's marks and the amendment, each as it was published
    assert [e["topic"] for e in events].count("attendance.marks.v1") == 2
    assert sorted(row[0] for row in events[-2]["event"]["data"]["marks"]) == sorted((A, B, C))
    assert events[-1]["event"]["data"]["code"] == "I" and events[-1]["event"]["data"]["revision"] == 2

    marks_only = (await client.get("/v1/events", params={"topic": "attendance.marks.v1"})).json()
    assert [e["position"] for e in marks_only["events"]] == [e["position"] for e in events if "marks" in e["topic"]]
    assert marks_only["next_after"] is None
    unknown = await client.get("/v1/events", params={"topic": "analytics.risk-flags.v1"})
    assert unknown.status_code == 422


async def test_the_dfe_cohort_fields_are_kept_versioned_and_carried_on_the_pupil_events(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    upn = make_upn(serial=790)
    cohort = {
        "ethnicity": "BAFR",
        "previously_looked_after": True,
        "child_in_need": True,
        "registration_group": "5B",
        "sen_status": "ehcp",
        "expected_leaving_date": "2028-07-21",
    }
    unknown = await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn, **{**cohort, "ethnicity": "AFRICAN"}))
    assert unknown.status_code == 422 and "ethnicity" in unknown.text
    admitted = await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn, **cohort))
    assert admitted.status_code == 201, admitted.text
    assert {k: admitted.json()[k] for k in cohort} == cohort

    change = {"child_protection_plan": True, "registration_group": "6B", "effective_from": "2026-11-02"}
    changed = await client.patch(f"/v1/schools/{URN}/pupils/{upn}", json=change)
    assert changed.status_code == 200, changed.text
    before = (await client.get(f"/v1/schools/{URN}/pupils/{upn}", params={"as_on": "2026-10-01"})).json()
    assert (before["registration_group"], before["child_protection_plan"]) == ("5B", False)
    assert (changed.json()["registration_group"], changed.json()["child_protection_plan"]) == ("6B", True)
    assert (await client.patch(f"/v1/schools/{URN}/pupils/{upn}", json={"child_in_need": None})).status_code == 422

    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT envelope FROM register.outbox WHERE key = :key ORDER BY id"), {"key": pupil_key(URN, upn)}
        )
        events = [orjson.loads(r.envelope)["data"] for r in rows]
    assert [(e["ethnicity"], e["child_in_need"], e["registration_group"]) for e in events] == [
        ("BAFR", True, "5B"),
        ("BAFR", True, "6B"),
    ]
    assert events[1]["child_protection_plan"] is True


async def test_a_register_still_missing_after_the_reminder_time_is_published_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Monday 2 November: the morning register taken, the afternoon not. 30 minutes after the
    afternoon closed (13:30) it is reminded, once; half-term days and taken registers never."""
    await take(client, MONDAY, "am", present(A, B, C))
    sessions = async_sessionmaker(engine)
    after = timedelta(minutes=30)

    async def remind(moment: str) -> int:
        async with sessions.begin() as session:
            return await remind_missing_registers(session, after=after, now=datetime.fromisoformat(moment))

    assert await remind("2026-11-02T13:59:00+00:00") == 0  # the afternoon closed 29 minutes ago
    assert await remind("2026-11-02T14:00:00+00:00") == 1
    assert await remind("2026-11-02T16:00:00+00:00") == 0  # already reminded
    assert await remind("2026-10-27T16:00:00+00:00") == 0  # half-term: nothing was due
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT envelope FROM register.outbox WHERE event_type = 'uk.attendance.register.missing.v1'")
        )
        reminded = [orjson.loads(r.envelope)["data"] for r in rows]
        checks = await conn.execute(
            text("SELECT date, session, due, missing FROM register.register_checks ORDER BY date, session")
        )
        assert [tuple(c) for c in checks] == [
            (date(2026, 10, 27), "am", False, False),
            (date(2026, 10, 27), "pm", False, False),
            (date(2026, 11, 2), "am", True, False),
            (date(2026, 11, 2), "pm", True, True),
        ]
    assert [(r["school_urn"], r["date"], r["session"]) for r in reminded] == [(URN, MONDAY, "pm")]
    assert reminded[0]["closes_at"].startswith("2026-11-02T13:30:00")


async def test_missing_registers_by_class_follow_each_pupils_group_on_the_day(client: httpx.AsyncClient) -> None:
    oak, elm = make_upn(serial=791), make_upn(serial=792)
    for upn, group in ((oak, "5 Oak"), (elm, "5 Elm")):
        body = pupil_body(upn, registration_group=group)
        assert (await client.post(f"/v1/schools/{URN}/pupils", json=body)).status_code == 201
    moved = {"registration_group": "5 Oak", "effective_from": "2026-11-03"}
    assert (await client.patch(f"/v1/schools/{URN}/pupils/{elm}", json=moved)).status_code == 200
    # Monday: 5 Oak and the pupils with no class are marked; 5 Elm's register is never taken.
    await take(client, MONDAY, "am", present(A, oak))
    await take(client, "2026-11-03", "am", present(A, oak))
    url = f"/v1/schools/{URN}/missing-registers"
    by_class = await client.get(url, params={"from": MONDAY, "to": "2026-11-03", "by": "registration_group"})
    assert by_class.status_code == 200, by_class.text
    assert by_class.json()["by"] == "registration_group"
    # Registers of past days taken now are late (taken_at set); those never taken have none.
    items = by_class.json()["items"]
    late = {(m["date"], m["session"], m["registration_group"]) for m in items if m["taken_at"]}
    never = [(m["date"], m["session"], m["registration_group"], m["pupils"]) for m in items if not m["taken_at"]]
    assert late == {
        (MONDAY, "am", "5 Oak"),
        (MONDAY, "am", None),
        ("2026-11-03", "am", "5 Oak"),
        ("2026-11-03", "am", None),
    }
    # 5 Elm's register is never taken on Monday; by Tuesday its only pupil has moved to 5 Oak.
    assert never == [
        (MONDAY, "am", "5 Elm", 1),
        (MONDAY, "pm", "5 Elm", 1),
        (MONDAY, "pm", "5 Oak", 1),
        (MONDAY, "pm", None, 3),
        ("2026-11-03", "pm", "5 Oak", 2),
        ("2026-11-03", "pm", None, 3),
    ]
    whole = (await client.get(url, params={"from": MONDAY, "to": "2026-11-03"})).json()
    assert [(m["session"], m["taken_at"] is None) for m in whole["items"]] == [
        ("am", False),
        ("pm", True),
        ("am", False),
        ("pm", True),
    ]


async def test_a_class_whose_register_is_missing_is_reminded_when_the_rest_of_the_school_is_marked(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    oak, elm = make_upn(serial=793), make_upn(serial=794)
    for upn, group in ((oak, "5 Oak"), (elm, "5 Elm")):
        body = pupil_body(upn, registration_group=group)
        assert (await client.post(f"/v1/schools/{URN}/pupils", json=body)).status_code == 201
    await take(client, MONDAY, "am", present(A, oak))  # 5 Oak's teacher, and the office for A
    async with async_sessionmaker(engine).begin() as session:
        reminded = await remind_missing_registers(
            session, after=timedelta(minutes=30), now=datetime.fromisoformat("2026-11-02T09:30:00+00:00")
        )
    assert reminded == 1
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT envelope FROM register.outbox WHERE event_type = 'uk.attendance.register.missing.v1'")
        )
        [event] = [orjson.loads(r.envelope)["data"] for r in rows]
    assert (event["session"], event["registration_group"], event["pupils"]) == ("am", "5 Elm", 1)


async def test_a_schools_trust_is_kept_with_its_history_and_carried_on_the_school_event(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    oak = {"trust_id": "16474", "name": "Oak Learning Trust", "kind": "multi_academy_trust", "joined_on": "2024-09-01"}
    ash = {"trust_id": "20311", "name": "Ash Federation", "kind": "federation", "joined_on": "2026-04-01"}
    assert (await client.put(f"/v1/schools/{URN}", json={**school_body(), "trust": oak})).status_code == 200
    again = await client.put(f"/v1/schools/{URN}", json={**school_body(name="Oak Lane"), "trust": oak})
    assert again.status_code == 200 and again.json()["trust"] == oak  # the same trust: history unchanged
    backwards = await client.put(
        f"/v1/schools/{URN}", json={**school_body(), "trust": {**ash, "joined_on": "2024-01-01"}}
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "trust.joined_on"
    assert (await client.put(f"/v1/schools/{URN}", json={**school_body(), "trust": ash})).status_code == 200
    history = (await client.get(f"/v1/schools/{URN}/trust-history")).json()["items"]
    assert [(h["trust_id"], h["joined_on"], h["left_on"]) for h in history] == [
        ("16474", "2024-09-01", "2026-03-31"),
        ("20311", "2026-04-01", None),
    ]
    assert (await client.get(f"/v1/schools/{URN}")).json()["trust"] == ash
    envelope = await scalar(
        engine,
        "SELECT convert_from(envelope, 'UTF8') FROM register.outbox WHERE event_type LIKE '%school.upserted%' "
        "ORDER BY id DESC LIMIT 1",
    )
    assert orjson.loads(envelope)["data"]["trust"] == ash  # type: ignore[arg-type]
    bad = await client.put(f"/v1/schools/{URN}", json={**school_body(), "trust": {**ash, "trust_id": "TR-1"}})
    assert bad.status_code == 422
    # Leaving a trust closes the membership today; joining one again must start after that.
    assert (await client.put(f"/v1/schools/{URN}", json=school_body())).status_code == 200
    rejoin = await client.put(f"/v1/schools/{URN}", json={**school_body(), "trust": oak})
    assert rejoin.status_code == 422 and rejoin.json()["errors"][0]["field"] == "trust.joined_on"
    left = (await client.get(f"/v1/schools/{URN}/trust-history")).json()["items"][-1]
    assert left["left_on"] == str(today_in_england())
