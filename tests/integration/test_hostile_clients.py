"""The register service against clients that race, send values at the edge of every range,
or find the database gone: every answer is a documented status with a problem+json body,
and what is stored is one of the versions sent, never a mix or a duplicate."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared.auth import Role
from attendance_shared.db import driver_connection, is_transient, make_sessionmaker
from attendance_shared.errors import PROBLEM_JSON
from attendance_shared.migrations import migrations_dir, upgrade_to_head
from attendance_stack.postgres import EmbeddedPostgres
from attendance_stack.processes import free_port
from register_service.app import create_app
from register_service.settings import Settings
from tests.factories import CURSORS_OUT_OF_RANGE, MADE_BY, calendar_body, make_upn, pupil_body, school_body
from tests.helpers import app_client, bearer, scalar

pytestmark = pytest.mark.integration

URN = "100001"
UPNS = [make_upn(serial=300 + i) for i in range(30)]
MONDAY, TUESDAY = "2026-11-02", "2026-11-03"
CLIENTS = 20


async def _set_up(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"/v1/schools/{URN}", json=school_body())).status_code == 200
    assert (await client.put(f"/v1/schools/{URN}/calendar", json=calendar_body())).status_code == 200
    response = await client.post(f"/v1/schools/{URN}/admissions", json={"pupils": [pupil_body(u) for u in UPNS]})
    assert response.status_code == 201, response.text


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN, subject="mis-vendor")) as client:
        await _set_up(client)
        yield client


def assert_problem(response: httpx.Response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text[:500]
    return response.json()


def register_of(code: str) -> dict:
    return {"marks": [{"upn": u, "code": code} for u in UPNS]}


async def at_once(*requests) -> list[httpx.Response]:
    return list(await asyncio.gather(*requests))


async def test_twenty_clients_taking_one_register_at_once_each_get_an_answer_and_one_version_is_stored(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    url = f"/v1/schools/{URN}/registers/{MONDAY}/am"
    codes = ["/", "N", "L"]
    bodies = [register_of(codes[i % len(codes)]) for i in range(CLIENTS)]
    for body in bodies:
        for mark in body["marks"]:
            if mark["code"] == "L":
                mark["minutes_late"] = 5
    responses = await at_once(*(client.put(url, json=body) for body in bodies))
    for response in responses:
        if response.status_code != 200:
            assert_problem(response, 409, 503)
    assert sum(r.status_code == 200 for r in responses) >= 1
    stored = (await client.get(url)).json()["marks"]
    assert len({m["code"] for m in stored}) == 1  # one whole version, never a mix
    # Each accepted write is one revision per changed mark: none stored twice.
    duplicates = await scalar(
        engine,
        "SELECT count(*) FROM (SELECT upn, revision FROM register.marks GROUP BY upn, date, session, revision "
        "HAVING count(*) > 1) d",
    )
    assert duplicates == 0


async def test_twenty_amendments_of_one_mark_at_once_are_each_a_revision_or_a_documented_refusal(
    client: httpx.AsyncClient,
) -> None:
    upn = UPNS[0]
    assert (await client.put(f"/v1/schools/{URN}/registers/{MONDAY}/am", json=register_of("N"))).status_code == 200
    url = f"/v1/schools/{URN}/registers/{MONDAY}/am/marks/{upn}"
    codes = ["I", "M", "C", "E"]
    responses = await at_once(
        *(
            client.patch(url, json={"code": codes[i % 4], "reason": f"call {i}", "made_by": MADE_BY})
            for i in range(CLIENTS)
        )
    )
    for response in responses:
        if response.status_code != 200:
            assert_problem(response, 409, 422, 503)
    history = (await client.get(f"/v1/schools/{URN}/pupils/{upn}/marks")).json()["entries"]
    revisions = [e["revision"] for e in history]
    assert revisions == list(range(1, len(revisions) + 1))
    assert len(revisions) - 1 == sum(r.status_code == 200 for r in responses)


async def test_bulk_registers_at_once_are_all_or_nothing_and_never_a_500(client: httpx.AsyncClient) -> None:
    def bulk(code: str) -> dict:
        return {
            "registers": [
                {"urn": URN, "date": day, "session": session, "marks": register_of(code)["marks"]}
                for day in (MONDAY, TUESDAY)
                for session in ("am", "pm")
            ]
        }

    # Half send the registers in one order, half in the other: a lock taken in request order
    # would deadlock the two halves.
    bodies = []
    for i in range(CLIENTS):
        body = bulk("/" if i % 2 else "N")
        if i % 2:
            body["registers"].reverse()
        bodies.append(body)
    responses = await at_once(*(client.put("/v1/registers", json=body) for body in bodies))
    for response in responses:
        if response.status_code != 200:
            assert_problem(response, 409, 503)
    codes = set()
    for day in (MONDAY, TUESDAY):
        for session in ("am", "pm"):
            marks = (await client.get(f"/v1/schools/{URN}/registers/{day}/{session}")).json()["marks"]
            codes |= {m["code"] for m in marks}
    assert len(codes) == 1  # the last bulk stored wrote all four registers


async def test_one_idempotency_key_sent_twenty_times_at_once_gets_the_winners_answer(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    url = f"/v1/schools/{URN}/registers/{MONDAY}/pm"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    responses = await at_once(*(client.put(url, json=register_of("/"), headers=key) for _ in range(CLIENTS)))
    assert {r.status_code for r in responses} == {200}
    assert len({tuple(sorted(r.json().items())) for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == CLIENTS - 1
    assert await scalar(engine, "SELECT count(*) FROM register.marks WHERE session = 'pm'") == len(UPNS)


@pytest.mark.parametrize("cursor", [*CURSORS_OUT_OF_RANGE, "9223372036854775807.9223372036854775807"])
async def test_a_cursor_out_of_range_is_refused_by_name(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get(f"/v1/schools/{URN}/marks/changes", params={"cursor": cursor})
    if response.status_code == 200:  # the largest cursor is in range: there is simply nothing after it
        assert response.json()["items"] == []
        return
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["location"] == ["query", "cursor"]


@pytest.mark.parametrize(
    "as_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00Z", "1000-01-01T00:00Z"]
)
async def test_a_moment_outside_the_calendar_is_refused_by_name(client: httpx.AsyncClient, as_at: str) -> None:
    response = await client.get(f"/v1/schools/{URN}/registers/{MONDAY}/am", params={"as_at": as_at})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["location"] == ["query", "as_at"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_surname", "Ta\udfffylor"),
        ("address", {"lines": ["12 Orchard Road\udfff"], "postcode": "LS6 2AB"}),
        ("contacts", [{"name": "\ud800", "email": "alex@example.org"}]),
    ],
)
async def test_text_that_is_not_unicode_is_refused_by_name(client: httpx.AsyncClient, field: str, value) -> None:
    # Sent as JSON escapes (`"\\udfff"`), which is how a lone surrogate travels: it has no UTF-8.
    body = json.dumps(pupil_body(make_upn(serial=901), **{field: value}))
    response = await client.post(
        f"/v1/schools/{URN}/pupils", content=body, headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422)
    assert field in problem["errors"][0]["location"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", {"lines": ["x" * (7 * 1024 * 1024)], "postcode": "LS6 2AB"}),
        ("address", {"lines": ["12 Orchard Road"], "town": "t" * 101, "postcode": "LS6 2AB"}),
        ("contacts", [{"name": "Alex", "email": "a" * 300 + "@example.org"}]),
        ("contacts", [{"name": "Alex", "phone": "0" * 40}]),
        ("social_worker", {"name": "n" * 101}),
        ("previous_school", {"name": "s" * 201}),
    ],
)
async def test_every_free_text_field_has_a_maximum(client: httpx.AsyncClient, engine: AsyncEngine, field, value):
    response = await client.post(f"/v1/schools/{URN}/pupils", json=pupil_body(make_upn(serial=902), **{field: value}))
    problem = assert_problem(response, 422)
    assert field in problem["errors"][0]["location"]
    assert await scalar(engine, "SELECT count(*) FROM register.pupils") == len(UPNS)


async def test_a_calendar_reason_and_an_amendment_reason_have_a_maximum(client: httpx.AsyncClient) -> None:
    calendar = calendar_body()
    calendar["closures"][0]["reason"] = "r" * 501
    assert_problem(await client.put(f"/v1/schools/{URN}/calendar", json=calendar), 422)
    calendar = calendar_body()
    calendar["terms"][0]["name"] = "t" * 101
    assert_problem(await client.put(f"/v1/schools/{URN}/calendar", json=calendar), 422)


@pytest.fixture
async def own_postgres(tmp_path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, to stop under a running service."""
    server = EmbeddedPostgres(tmp_path / "data", free_port(), durable=False)
    server.start()
    try:
        yield server
    finally:
        server.destroy()


async def test_with_the_database_stopped_every_request_is_a_503_with_retry_after_and_readiness_says_why(
    own_postgres: EmbeddedPostgres,
) -> None:
    own_postgres.psql("CREATE DATABASE attendance")
    url = make_url(own_postgres.url("attendance")).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_to_head, migrations_dir("register"), url)
    settings = Settings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN, subject="mis-vendor")) as client:
        await _set_up(client)
        # Every connection of the pool is open and idle when the server goes.
        await at_once(*(client.get(f"/v1/schools/{URN}/pupils") for _ in range(12)))
        await asyncio.to_thread(own_postgres.stop)
        requests = [
            *(client.get(f"/v1/schools/{URN}/pupils") for _ in range(8)),
            *(client.put(f"/v1/schools/{URN}/registers/{MONDAY}/am", json=register_of("/")) for _ in range(8)),
            *(client.get(f"/v1/schools/{URN}/registers/{MONDAY}/am") for _ in range(8)),
        ]
        responses = await at_once(*requests)
        responses += [await client.get(f"/v1/schools/{URN}") for _ in range(4)]
        for response in responses:
            assert_problem(response, 503)
            assert int(response.headers["Retry-After"]) >= 1
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unreachable")
        await asyncio.to_thread(own_postgres.start)
        response = await client.put(f"/v1/schools/{URN}/registers/{MONDAY}/am", json=register_of("/"))
        assert response.status_code == 200, response.text
        assert (await client.get("/readyz")).json()["checks"]["database"] == "ok"


async def test_a_change_that_would_null_a_required_field_is_refused_by_name(client: httpx.AsyncClient) -> None:
    url = f"/v1/schools/{URN}/pupils/{UPNS[0]}"
    problem = assert_problem(await client.patch(url, json={"eal": None, "legal_forename": "Sasha"}), 422)
    assert "eal" in problem["errors"][0]["message"]
    cleared = await client.patch(url, json={"preferred_forename": None, "eal": True})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["eal"] is True


async def test_a_connection_whose_protocol_broke_mid_copy_is_dropped_and_the_error_is_retryable(
    engine: AsyncEngine,
) -> None:
    """A server shutting down in the middle of a COPY left asyncpg's protocol in a state it
    refused to leave (`InternalClientError`), which reached a client as a 500 under the
    fault suite's forty clients. It is now a lost connection: a 503, or a consumer's retry."""
    sessionmaker = make_sessionmaker(engine)
    with pytest.raises(DBAPIError) as raised:
        async with sessionmaker() as session, session.begin(), driver_connection(session):
            raise asyncpg.InternalClientError("cannot switch to state 21; another operation (2) is in progress")
    assert raised.value.connection_invalidated and is_transient(raised.value)
    async with sessionmaker() as session:  # the pool hands out a sound connection after it
        assert await session.scalar(text("SELECT 1")) == 1
