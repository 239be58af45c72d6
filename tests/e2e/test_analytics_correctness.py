"""Analytics against a plain recomputation, through the real stack.

A seeded term of registers for two schools (one with its own calendar, one without) goes in
over HTTP as an MIS sends it: every code, amendments, pupils admitted and deleted mid-term,
cohort changes by date. Then part of the marks topic is published again, duplicated and out
of order. Every figure, cohort, week, weekday pattern and flag must then equal what
`term_of_registers` recomputes from the codes the generator sent: equal, not close. Last, a
rebuild into an empty database must give identical projections, after retention has deleted
the topics' older segments: the rebuild replays the register's own log, not the topics.
"""

import asyncio
import csv
import io
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import date

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from attendance_bench.rebuild import PROJECTION_QUERIES

from attendance_shared import topics
from attendance_shared.auth import Role
from attendance_shared.events import parse_event, session_marks
from attendance_shared.kafka import KafkaPublisher
from attendance_stack import LocalStack
from tests.e2e.conftest import start_stack
from tests.e2e.term_of_registers import (
    CLOSED_AFTERNOON,
    ETHNIC_GROUP,
    NEEDS_NOTE,
    TERM_START,
    School,
    calendar_body,
    counts_between,
    expected_cohorts,
    expected_flags,
    expected_weekday_absence,
    expected_weeks,
    final_codes,
    generate,
)
from tests.factories import MADE_BY, pupil_body
from tests.helpers import bearer, eventually, read_topic

pytestmark = pytest.mark.e2e

SEED = 20251
LA = "381"
TERM = {"from": "2025-09-01", "to": "2025-12-19"}
RATE_KEYS = ("attendance_rate", "overall_absence_rate")


def mark(upn: str, code: str) -> dict:
    body: dict = {"upn": upn, "code": code}
    if code == "L":
        body["minutes_late"] = 5
    if code == "U":
        body["minutes_late"] = 35
    if code in NEEDS_NOTE:
        body["note"] = "recorded by the generator"
    return body


def cohort_counts(group: dict) -> dict:
    figures = group["figures"]
    return {
        "pupils": group["pupils"],
        "possible": figures["possible_sessions"],
        "absent": figures["authorised_absence_sessions"] + figures["unauthorised_absence_sessions"],
        "persistent": group["persistent_absence_pupils"],
        "severe": group["severe_absence_pupils"],
    }


async def send_term(register: httpx.AsyncClient, school: School) -> int:
    """Send the school's term; return the records it put on the marks topic (one a register,
    one an amendment)."""
    assert (await register.put(f"/v1/schools/{school.urn}", json={"la_code": LA, "name": "T"})).status_code == 200
    if school.with_calendar:
        response = await register.put(f"/v1/schools/{school.urn}/calendar", json=calendar_body())
        assert response.status_code == 200, response.text
    for pupil in school.pupils:
        body = pupil_body(
            pupil.upn,
            admission_date=str(pupil.admitted),
            year_group=pupil.year_group,
            sex=pupil.sex,
            fsm_eligible=pupil.fsm,
            date_of_birth=str(pupil.date_of_birth),
            boarder=pupil.boarder,
            **({"ethnicity": pupil.ethnicity} if pupil.ethnicity else {}),
        )
        response = await register.post(f"/v1/schools/{school.urn}/pupils", json=body)
        assert response.status_code == 201, response.text
        if pupil.fsm_from:
            change = {"fsm_eligible": True, "effective_from": str(pupil.fsm_from)}
            response = await register.patch(f"/v1/schools/{school.urn}/pupils/{pupil.upn}", json=change)
            assert response.status_code == 200, response.text
    limit = asyncio.Semaphore(4)

    async def put(day: date, session: str) -> None:
        marks = [mark(p.upn, p.codes[(day, session)]) for p in school.pupils if (day, session) in p.codes]
        async with limit:
            response = await register.put(f"/v1/schools/{school.urn}/registers/{day}/{session}", json={"marks": marks})
        assert response.status_code == 200, response.text

    # The closed afternoon is sent too: its register says '#' for everyone.
    sessions = sorted({key for pupil in school.pupils for key in pupil.codes})
    await asyncio.gather(*(put(day, session) for day, session in sessions))
    records = len(sessions) + len(school.amendments)
    for day, session, upn, code in school.amendments:
        response = await register.patch(
            f"/v1/schools/{school.urn}/registers/{day}/{session}/marks/{upn}",
            json={"code": code, "reason": "reason established", "made_by": MADE_BY},
        )
        assert response.status_code == 200, response.text
    for pupil in school.pupils:
        if pupil.left:
            response = await register.post(
                f"/v1/schools/{school.urn}/pupils/{pupil.upn}/deletion", json={"ground": "g", "date": str(pupil.left)}
            )
            assert response.status_code in (200, 201), response.text
    return records


async def publish_again_out_of_order(stack: LocalStack, expected_records: int) -> int:
    """Every other record of marks again, shuffled: duplicates, and old revisions after new
    ones. Returns how many marks the records sent again hold."""
    records = await read_topic(stack.kafka, topics.MARKS.name, expected=expected_records, timeout_s=60)
    assert len(records) >= expected_records
    again = [r for i, r in enumerate(records) if i % 2 == 0]
    random.Random(SEED).shuffle(again)
    publisher = KafkaPublisher(stack.kafka, [topics.MARKS], client_id="test-replay")
    await publisher.publish([(topics.MARKS.name, r.key, r.value, []) for r in again])
    await publisher.close()
    return len(session_marks(parse_event(r.value).data for r in again))


def strip(figures: dict) -> dict:
    return {k: figures[k] for k in figures if k not in ("authorised_absence_rate", "unauthorised_absence_rate")}


REPLAYED = (topics.SCHOOLS, topics.PUPILS, topics.MARKS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Retention is enforced every half second instead of every five minutes.
    stack = start_stack(tmp_path_factory.mktemp("stack"), kafka_config={"log.retention.check.interval.ms": "500"})
    try:
        yield stack
    finally:
        stack.stop()


async def configure_topics(stack: LocalStack, **overrides: str) -> None:
    """Set the register topics' configuration: their declared one with `overrides` (AlterConfigs
    replaces a topic's whole configuration, so the declared settings are sent again)."""
    admin = AIOKafkaAdminClient(**stack.kafka.options())
    await admin.start()
    try:
        await admin.alter_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, spec.name, {**spec.config(replicas=1), **overrides})
                for spec in REPLAYED
            ]
        )
    finally:
        await admin.close()


async def first_offsets(stack: LocalStack) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**stack.kafka.options())
    await consumer.start()
    try:
        partitions = [TopicPartition(topics.MARKS.name, p) for p in range(topics.MARKS.partitions)]
        return await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()


async def expire_old_segments(stack: LocalStack) -> int:
    """Retention down to a second, until the broker has deleted every closed segment of the
    marks: how many mark records the topic no longer holds."""
    await configure_topics(stack, **{"retention.ms": "1000", "segment.bytes": "1048576"})

    async def deleted() -> int:
        gone = sum((await first_offsets(stack)).values())
        assert gone > 0, "no segment deleted yet"
        return gone

    return await eventually(deleted, timeout_s=60)


async def test_every_figure_and_flag_equals_a_plain_recomputation(stack: LocalStack) -> None:
    # Segments of 1 MB (Kafka's least), so that retention has closed segments to delete.
    await configure_topics(stack, **{"segment.bytes": "1048576"})
    schools = generate(SEED)
    urns = [s.urn for s in schools]
    register = httpx.AsyncClient(base_url=stack.url("register"), headers=bearer(Role.MIS, schools=urns), timeout=60)
    analytics = httpx.AsyncClient(base_url=stack.url("analytics"), headers=bearer(Role.STAFF, schools=urns), timeout=60)
    records = 0
    for school in schools:
        records += await send_term(register, school)
    assert await publish_again_out_of_order(stack, records) > 1000

    # Every pupil's figures for the term, and their code counts.
    async def pupils_match(school: School) -> None:
        page = (
            await analytics.get(f"/v1/schools/{school.urn}/pupil-attendance", params={**TERM, "limit": 5000})
        ).json()
        got = {item["upn"]: strip(item["figures"]) for item in page["items"]}
        want = {}
        for pupil in school.pupils:
            counts = counts_between(final_codes(school, pupil), date(2025, 8, 1), date(2025, 12, 19))
            if counts.possible:
                want[pupil.upn] = {k: v for k, v in counts.as_api().items()}
        assert {u: {k: got[u][k] for k in want[u]} for u in got if u in want} == want
        assert set(got) == set(want)

    for school in schools:
        await eventually(lambda school=school: pupils_match(school), timeout_s=180)

    for school in schools:
        pupil = next(p for p in school.pupils if p.story == "persistent")
        one = (await analytics.get(f"/v1/schools/{school.urn}/pupils/{pupil.upn}/attendance", params=TERM)).json()
        codes = final_codes(school, pupil)
        assert one["code_counts"] == {c: list(codes.values()).count(c) for c in set(codes.values())}
        assert one["late_sessions"] == sum(c in ("L", "U") for c in codes.values())

        # Flags: exactly the pupils and flags the plain rules call for.
        want_flags = {(p.upn, f) for p in school.pupils for f in expected_flags(school, p)}
        got_flags: set[tuple[str, str]] = set()
        cursor = None
        while True:
            params = {"limit": 50, "academic_year": 2025, **({"cursor": cursor} if cursor else {})}
            page = (await analytics.get(f"/v1/schools/{school.urn}/flags", params=params)).json()
            assert {f["academic_year"] for f in page["items"]} <= {2025}
            got_flags |= {(f["upn"], f["flag"]) for f in page["items"]}
            if not (cursor := page["next_cursor"]):
                break
        assert got_flags == want_flags
        kinds = {f for _, f in want_flags}
        assert {"persistent_absence", "severe_absence", "long_sickness", "penalty_notice_threshold"} <= kinds
        assert {"unexplained_absence_overdue", "continuous_absence_10_days", "continuous_absence_20_days"} <= kinds

        # Cohorts by FSM eligibility as it was on each date.
        summary = (
            await analytics.get(f"/v1/schools/{school.urn}/attendance", params={**TERM, "group_by": "fsm_eligible"})
        ).json()
        got_groups = {g["group"]: cohort_counts(g) for g in summary["groups"]}
        assert got_groups == expected_cohorts(school, date(2025, 8, 1), date(2025, 12, 19))

        # The DfE's cohorts: ethnicity and its major group, over everyone on roll and over the
        # statistics population (compulsory school age, boarders excluded).
        for attribute, label_of in (
            ("ethnicity", lambda p, day: p.ethnicity or "unknown"),
            ("ethnic_group", lambda p, day: ETHNIC_GROUP[p.ethnicity]),
        ):
            for population in ("on_roll", "compulsory_school_age"):
                params = {**TERM, "group_by": attribute, "population": population}
                split = (await analytics.get(f"/v1/schools/{school.urn}/attendance", params=params)).json()
                assert split["population"] == population
                want = expected_cohorts(
                    school,
                    date(2025, 8, 1),
                    date(2025, 12, 19),
                    label_of,
                    compulsory_school_age=population == "compulsory_school_age",
                )
                assert {g["group"]: cohort_counts(g) for g in split["groups"]} == want, (attribute, population)
        everyone = (await analytics.get(f"/v1/schools/{school.urn}/attendance", params=TERM)).json()
        statistics = (
            await analytics.get(
                f"/v1/schools/{school.urn}/attendance", params={**TERM, "population": "compulsory_school_age"}
            )
        ).json()
        assert everyone["population"] == "on_roll" and statistics["pupils"] < everyone["pupils"]

        # Weekly series and the weekday pattern.
        weekly = (await analytics.get(f"/v1/schools/{school.urn}/attendance/weekly", params=TERM)).json()
        got_weeks = [(w["week_start"], w["figures"]["possible_sessions"], w["figures"]["attended_sessions"])
                     for w in weekly["weeks"]]  # fmt: skip
        assert got_weeks == expected_weeks(school, date(2025, 8, 1), date(2025, 12, 19))
        patterns = (await analytics.get(f"/v1/schools/{school.urn}/attendance/patterns", params=TERM)).json()
        got_pattern = {(p["weekday"], p["session"]): (p["possible_sessions"], p["absence_sessions"])
                       for p in patterns["by_session"]}  # fmt: skip
        assert got_pattern == expected_weekday_absence(school)

    # Periods from the calendar: the first half-term of the school that sent one.
    calendar_school = schools[0]
    half = (
        await analytics.get(
            f"/v1/schools/{calendar_school.urn}/attendance", params={"period": "half_term", "on": "2025-10-01"}
        )
    ).json()
    assert (half["period"]["start"], half["period"]["end"], half["period"]["name"]) == (
        "2025-09-03",
        "2025-10-26",
        "Autumn 1",
    )
    want_possible = sum(
        counts_between(final_codes(calendar_school, p), TERM_START, date(2025, 10, 26)).possible
        for p in calendar_school.pupils
    )
    term = (
        await analytics.get(
            f"/v1/schools/{calendar_school.urn}/attendance", params={"period": "term", "on": "2025-11-03"}
        )
    ).json()
    assert (term["period"]["name"], term["figures"]["possible_sessions"]) == (
        "Autumn",
        want_term_possible(calendar_school),
    )
    assert half["figures"]["possible_sessions"] == want_possible
    closed = [p.codes.get((CLOSED_AFTERNOON, "pm")) for p in calendar_school.pupils]
    assert set(closed) - {None} == {"#"}  # the closure's sessions were sent, and count nowhere

    # Any list as CSV: the same rows as the JSON.
    csv_page = await analytics.get(
        f"/v1/schools/{calendar_school.urn}/pupil-attendance",
        params={**TERM, "limit": 5000},
        headers={"Accept": "text/csv"},
    )
    assert csv_page.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_page.text)))
    json_page = (
        await analytics.get(f"/v1/schools/{calendar_school.urn}/pupil-attendance", params={**TERM, "limit": 5000})
    ).json()
    assert [(r["upn"], int(r["figures.possible_sessions"])) for r in rows] == [
        (i["upn"], i["figures"]["possible_sessions"]) for i in json_page["items"]
    ]

    # Benchmarks: the school, its LA computed from both schools, and England's published figures.
    bench = (await analytics.get(f"/v1/schools/{calendar_school.urn}/benchmarks", params=TERM)).json()
    assert bench["school"]["figures"]["possible_sessions"] == want_term_possible(calendar_school)
    assert bench["local_authority"]["figures"]["possible_sessions"] == sum(want_term_possible(s) for s in schools)
    assert bench["national"]["source"] and bench["national"]["published"]

    # The LA view adds its schools up.
    la = (await httpx.AsyncClient(base_url=stack.url("analytics"), headers=bearer(Role.LA, la_code=LA)).get(
        f"/v1/las/{LA}/attendance", params=TERM
    )).json()  # fmt: skip
    assert la["total"]["figures"]["possible_sessions"] == sum(
        counts_between(final_codes(s, p), date(2025, 8, 1), date(2025, 12, 19)).possible
        for s in schools
        for p in s.pupils
    )

    # Segments holding a third of the term's registers and amendments are gone from the topic:
    # only the register's log still has them.
    assert await expire_old_segments(stack) > records // 3
    await check_rebuild_gives_identical_projections(stack)


def want_term_possible(school: School) -> int:
    return sum(
        counts_between(final_codes(school, p), date(2025, 8, 1), date(2025, 12, 19)).possible for p in school.pupils
    )


async def snapshot(dsn: str) -> dict[str, list]:
    connection = await asyncpg.connect(dsn)
    try:
        return {name: [tuple(r) for r in await connection.fetch(sql)] for name, sql in PROJECTION_QUERIES.items()}
    finally:
        await connection.close()


async def check_rebuild_gives_identical_projections(stack: LocalStack) -> None:
    live_dsn = stack.database_url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(live_dsn)
    await admin.execute("CREATE DATABASE rebuilt")
    await admin.close()
    rebuilt_url = stack.database_url.rsplit("/", 1)[0] + "/rebuilt"
    env = {**stack.service_env("analytics"), "DATABASE_URL": rebuilt_url}
    migrate = [sys.executable, "-m", "attendance_shared.migrations", "analytics"]
    await asyncio.to_thread(subprocess.run, migrate, env=env, check=True)
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "analytics_service.rebuild",
            "--group-id",
            "analytics-service-rebuild-check",
            "--register-url",
            stack.url("register"),
            # Fewer than the term's pupil-years: some are written mid-replay and merged into later.
            "--held-years",
            "40",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0 and "rebuilt analytics from" in result.stdout, result.stderr[-3000:]
    live, rebuilt = (
        await snapshot(live_dsn),
        await snapshot(rebuilt_url.replace("postgresql+asyncpg://", "postgresql://")),
    )
    for name in PROJECTION_QUERIES:
        assert set(rebuilt[name]) ^ set(live[name]) == set(), (name, result.stderr[-2000:])
