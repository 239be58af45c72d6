"""The fault suite: the whole stack on a three-broker Kafka cluster (replication factor 3,
min.insync.replicas 2) under a steady load of registers, amendments and admissions, one fault
at a time. After each, once the stack has caught up, every mark register-service accepted
must be reflected exactly once in analytics' figures and notification's stored absences and
plans, every admission in la-returns' admission register, and no message may be planned twice.

The truth is register-service's own table of marks (every revision it accepted), not what the
load generator believes it sent: a request that timed out may still have been stored.
"""

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg
import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from attendance_shared import topics
from attendance_shared.auth import Role
from attendance_shared.kafka import KafkaPublisher
from attendance_shared.rules.codes import Category, category_of
from attendance_shared.rules.figures import academic_year_of
from attendance_stack import LocalStack
from attendance_stack.kafka import KafkaCluster
from tests.factories import MADE_BY, make_upn, pupil_body
from tests.fault.conftest import FAULT_TABLE, FaultRow
from tests.helpers import bearer, read_topic

pytestmark = pytest.mark.fault

SCHOOLS = {"100101": ("381", "4001"), "100102": ("381", "4002"), "100103": ("382", "4003")}
PUPILS_PER_SCHOOL = 40
FIRST_DAY = date(2025, 9, 1)
# The stack's clock is the real one: notification plans alerts for today's absences only.
TODAY = date.today()
REGISTERS_PER_SECOND = 4
CATCH_UP_TIMEOUT_S = 180
UNAUTHORISED = {"N", "O", "G", "U"}
ADMIN = bearer(Role.ADMIN)


@dataclass
class Load:
    """Registers for successive school days, an amendment every third step and an admission
    every fifteenth, at a steady pace, retrying what the stack refuses while it is hurt."""

    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    pupils: dict[str, list[str]] = field(default_factory=dict)
    marked: list[tuple[str, date, str, str]] = field(default_factory=list)
    codes: dict[tuple[str, date, str, str], str] = field(default_factory=dict)
    server_errors: Counter = field(default_factory=Counter)
    today_present: list[tuple[str, str]] = field(default_factory=list)
    serial: int = 0
    step: int = 0
    registers: list[tuple[str, date, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        day = FIRST_DAY
        while day < TODAY:
            if day.weekday() < 5:
                self.registers += [(urn, day, session) for session in ("am", "pm") for urn in SCHOOLS]
            day += timedelta(days=1)
        self.registers.reverse()  # popped from the end: oldest first

    def new_pupil(self, urn: str) -> dict:
        self.serial += 1
        la, establishment = SCHOOLS[urn]
        upn = make_upn(la, establishment, "24", self.serial)
        self.pupils.setdefault(urn, []).append(upn)
        return pupil_body(upn, forename=f"P{self.serial}", admission_date=str(FIRST_DAY))

    def code(self, session: str) -> str:
        return self.rng.choice(["/" if session == "am" else "\\"] * 12 + ["N", "I", "M", "O", "L", "C"])

    def mark(self, upn: str, code: str) -> dict:
        return {"upn": upn, "code": code, **({"minutes_late": 10} if code == "L" else {})}

    async def send(self, client: httpx.AsyncClient, method: str, url: str, body: dict) -> None:
        """Until the stack answers with a success or a client error; a 4xx fails the test."""
        for _ in range(300):
            try:
                response = await client.request(method, url, json=body, headers=ADMIN)
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code in (409, 503) or response.status_code >= 500:
                if response.status_code >= 500 and response.status_code != 503:
                    self.server_errors[response.status_code] += 1  # a fault must give 503, never these
                await asyncio.sleep(0.2)
                continue
            assert response.status_code < 400, f"{method} {url}: {response.status_code} {response.text}"
            return
        raise AssertionError(f"{method} {url} never succeeded")

    async def admit_everyone(self, client: httpx.AsyncClient) -> None:
        for urn, (la, _) in SCHOOLS.items():
            await self.send(client, "PUT", f"/v1/schools/{urn}", {"la_code": la, "name": f"School {urn}"})
            body = {"pupils": [self.new_pupil(urn) for _ in range(PUPILS_PER_SCHOOL)]}
            await self.send(client, "POST", f"/v1/schools/{urn}/admissions", body)
            # Today's morning, every pupil present: the faults turn some into an N.
            marks = [self.mark(upn, "/") for upn in self.pupils[urn]]
            await self.send(client, "PUT", f"/v1/schools/{urn}/registers/{TODAY}/am", {"marks": marks})
            self.today_present += [(urn, upn) for upn in self.pupils[urn]]

    async def one_step(self, client: httpx.AsyncClient) -> None:
        self.step += 1
        urn, day, session = self.registers.pop()
        marks = [self.mark(upn, self.code(session)) for upn in self.pupils[urn]]
        await self.send(client, "PUT", f"/v1/schools/{urn}/registers/{day}/{session}", {"marks": marks})
        for m in marks:
            self.marked.append((urn, day, session, m["upn"]))
            self.codes[(urn, day, session, m["upn"])] = m["code"]
        if self.step % 3 == 0:
            key = urn, day, session, upn = self.rng.choice(self.marked)
            choices = [c for c in ("I", "M", "N", "/" if session == "am" else "\\") if c != self.codes[key]]
            code = self.codes[key] = self.rng.choice(choices)
            amendment = {"code": code, "reason": "the parent phoned", "made_by": MADE_BY}
            await self.send(client, "PATCH", f"/v1/schools/{urn}/registers/{day}/{session}/marks/{upn}", amendment)
        if self.step % 15 == 0:
            urn = self.rng.choice(list(SCHOOLS))
            await self.send(client, "POST", f"/v1/schools/{urn}/pupils", self.new_pupil(urn))
        if self.step % 10 == 0 and self.today_present:
            urn, upn = self.today_present.pop(self.rng.randrange(len(self.today_present)))
            amendment = {"code": "N", "reason": "not arrived", "made_by": MADE_BY}
            await self.send(client, "PATCH", f"/v1/schools/{urn}/registers/{TODAY}/am/marks/{upn}", amendment)

    async def run(self, client: httpx.AsyncClient, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            started = time.monotonic()
            await self.one_step(client)
            await asyncio.sleep(max(0.0, 1 / REGISTERS_PER_SECOND - (time.monotonic() - started)))


LOAD = Load()


@dataclass
class Tally:
    lost: int = 0
    twice: int = 0
    messages_twice: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.twice == 0 and self.messages_twice == 0


def dsn(stack: LocalStack) -> str:
    return stack.database_url.replace("postgresql+asyncpg://", "postgresql://")


async def tally(stack: LocalStack) -> Tally:
    """What each consumer is missing or holds twice, against the register's marks."""
    conn = await asyncpg.connect(dsn(stack))
    try:
        revisions = await conn.fetch(
            "SELECT school_urn, upn, date, session, code, revision FROM register.marks ORDER BY revision"
        )
        analytics = await conn.fetch(
            "SELECT school_urn, upn, academic_year, present, approved_educational_activity, authorised, unauthorised "
            "FROM analytics.pupil_years"
        )
        admitted = await conn.fetch("SELECT school_urn, upn, admission_date, left_on FROM register.enrolments")
        la_returns = await conn.fetch("SELECT school_urn, upn, admission_date, left_on FROM la_returns.pupils")
        absences = await conn.fetch("SELECT school_urn, upn, date, session, code FROM notification.absences")
        alerts = await conn.fetch(
            "SELECT school_urn, upn, contact_index FROM notification.messages "
            "WHERE rule = 'first-day-absence' AND about_date = $1 AND resent_from IS NULL AND status <> 'cancelled'",
            TODAY,
        )
    finally:
        await conn.close()
    latest: dict[tuple, str] = {}
    ever: dict[tuple, list[str]] = defaultdict(list)
    for r in revisions:
        key = (r["school_urn"], r["upn"], r["date"], r["session"])
        latest[key] = r["code"]
        ever[key].append(r["code"])
    result = Tally()

    # analytics: each pupil's year totals by category, from the latest code of each session.
    want: dict[tuple, Counter] = defaultdict(Counter)
    for (urn, upn, day, _), code in latest.items():
        want[(urn, upn, academic_year_of(day))][category_of(code)] += 1
    got = {
        (r["school_urn"], r["upn"], r["academic_year"]): Counter(
            {
                Category.PRESENT: r["present"],
                Category.APPROVED_EDUCATIONAL_ACTIVITY: r["approved_educational_activity"],
                Category.AUTHORISED_ABSENCE: r["authorised"],
                Category.UNAUTHORISED_ABSENCE: r["unauthorised"],
            }
        )
        for r in analytics
    }
    for key in want.keys() | got.keys():
        w, g = want.get(key, Counter()), got.get(key, Counter())
        for category in Category:
            if category is Category.NOT_POSSIBLE:
                continue
            result.lost += max(0, w[category] - g[category])
            result.twice += max(0, g[category] - w[category])
    analytics_off = result.lost + result.twice
    if analytics_off:
        result.details.append(f"analytics off by {analytics_off}")

    def compare(name: str, expected: dict, held: dict) -> None:
        missing = sum(1 for key, value in expected.items() if key not in held or held[key] != value)
        extra = len(held.keys() - expected.keys())
        result.lost += missing
        result.twice += extra
        if missing or extra:
            result.details.append(f"{name}: {missing} missing or stale, {extra} unexpected")

    # notification: each stored session holds the register's latest code.
    compare(
        "notification",
        {key: latest[key] for key, codes in ever.items() if any(c in UNAUTHORISED for c in codes) or len(codes) > 1},
        {(r["school_urn"], r["upn"], r["date"], r["session"]): r["code"] for r in absences},
    )
    # la-returns (which takes its runs from analytics): every enrolment of the admission
    # register, with the register's leaving date.
    compare(
        "la-returns enrolments",
        {(r["school_urn"], r["upn"], r["admission_date"]): r["left_on"] for r in admitted},
        {(r["school_urn"], r["upn"], r["admission_date"]): r["left_on"] for r in la_returns},
    )

    # notification's plans: one first-day alert per pupil absent (N) this morning, per contact.
    planned = Counter((r["school_urn"], r["upn"], r["contact_index"]) for r in alerts)
    absent_today = {(urn, upn) for (urn, upn, day, _), code in latest.items() if day == TODAY and code == "N"}
    result.messages_twice = sum(count - 1 for count in planned.values())
    missing_alerts = len(absent_today - {(urn, upn) for urn, upn, _ in planned})
    result.lost += missing_alerts
    if missing_alerts or result.messages_twice:
        result.details.append(f"alerts: {missing_alerts} missing, {result.messages_twice} planned twice")
    return result


async def marks_accepted(stack: LocalStack) -> int:
    conn = await asyncpg.connect(dsn(stack))
    try:
        return await conn.fetchval("SELECT count(*) FROM register.marks")
    finally:
        await conn.close()


async def partition_leader(cluster: KafkaCluster, topic: str, partition: int = 0) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return next(p["leader"] for p in described["partitions"] if p["partition"] == partition)
    finally:
        await admin.close()


async def kill_marks_leader(stack: LocalStack, cluster: KafkaCluster) -> None:
    node = cluster.node(await partition_leader(cluster, topics.MARKS.name))
    node.kill()
    await asyncio.sleep(8)
    await asyncio.to_thread(cluster.restart, node)


async def kill_every_broker(stack: LocalStack, cluster: KafkaCluster) -> None:
    for node in cluster.nodes:
        node.kill()
    await asyncio.sleep(3)
    for node in cluster.nodes:
        node.start()
    await asyncio.to_thread(cluster.wait_ready)


async def freeze_one_broker(stack: LocalStack, cluster: KafkaCluster) -> None:
    node = cluster.node(await partition_leader(cluster, topics.MARKS.name, partition=1))
    node.freeze()
    try:
        await asyncio.sleep(12)  # past broker.session.timeout.ms (6 s) and the clients' request timeouts
    finally:
        node.thaw()


def kill_service(service: str) -> Callable[[LocalStack, KafkaCluster], Awaitable[None]]:
    async def fault(stack: LocalStack, cluster: KafkaCluster) -> None:
        stack.kill_service(service)
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.start_service, service)

    return fault


async def restart_postgres(stack: LocalStack, cluster: KafkaCluster) -> None:
    assert stack.postgres is not None
    await asyncio.to_thread(stack.postgres.stop)
    await asyncio.sleep(2)
    await asyncio.to_thread(stack.postgres.start)


async def produce_bad_records(stack: LocalStack, cluster: KafkaCluster) -> None:
    """Marks already applied, again, in reverse order and twice, between four records that are
    not events at all (or not valid ones): each consumer must skip the marks and park the four.
    Each register is one record of its school's 40 marks: 20 records are hundreds of marks."""
    records = await read_topic(cluster.bootstrap_servers, topics.MARKS.name, expected=20)
    replay = [(topics.MARKS.name, r.key, r.value, []) for r in reversed(records[-20:])]
    half = len(replay) // 2
    valid = orjson.loads(records[-1].value)
    malformed = [
        b"{not json",
        b"[]",
        b'{"type": [1]}',  # once stopped every consumer for good
        orjson.dumps({**valid, "id": "not-a-real-event", "data": {**valid["data"], "code": "??"}}),
    ]
    publisher = KafkaPublisher(cluster.bootstrap_servers, [topics.MARKS], client_id="fault-injector")
    try:
        bad_records = [(topics.MARKS.name, records[-1].key, bad, []) for bad in malformed]
        await publisher.publish(replay[:half] + bad_records + replay + replay[half:])
    finally:
        await publisher.close()


FAULTS: dict[str, Callable[[LocalStack, KafkaCluster], Awaitable[None]]] = {
    "leader of the marks partitions SIGKILLed, restarted": kill_marks_leader,
    "all three brokers SIGKILLed, restarted": kill_every_broker,
    "one broker frozen (SIGSTOP) 12 s, resumed": freeze_one_broker,
    "analytics SIGKILLed mid-batch": kill_service("analytics"),
    "notification SIGKILLed mid-batch": kill_service("notification"),
    "la-returns SIGKILLed mid-batch": kill_service("la-returns"),
    "PostgreSQL restarted under load": restart_postgres,
    "duplicated, reordered, malformed records": produce_bad_records,
}


async def caught_up(stack: LocalStack, timeout_s: float) -> tuple[Tally, float | None]:
    started = time.monotonic()
    while True:
        result = await tally(stack)
        if result.exact:
            return result, time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            return result, None
        await asyncio.sleep(0.5)


async def dead_letters(cluster: KafkaCluster) -> dict[str, int]:
    counts = {}
    for service in topics.CONSUMING_SERVICES:
        name = topics.dead_letter_topic(service).name
        counts[service] = len(await read_topic(cluster.bootstrap_servers, name, expected=10**9, timeout_s=2))
    return counts


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_no_accepted_mark_is_lost_or_counted_twice(fault: str, stack: LocalStack, cluster: KafkaCluster) -> None:
    LOAD.server_errors.clear()
    async with httpx.AsyncClient(base_url=stack.url("register"), timeout=10) as client:
        if not LOAD.pupils:
            await LOAD.admit_everyone(client)
        before = await marks_accepted(stack)
        dead_before = await dead_letters(cluster)
        stopping = asyncio.Event()
        load = asyncio.create_task(LOAD.run(client, stopping))
        try:
            await asyncio.sleep(3)
            await FAULTS[fault](stack, cluster)
            await asyncio.sleep(3)
        finally:
            stopping.set()
            await load
    accepted = await marks_accepted(stack) - before
    result, seconds = await caught_up(stack, CATCH_UP_TIMEOUT_S)
    server_errors = sum(LOAD.server_errors.values())
    FAULT_TABLE.append(
        FaultRow(fault, accepted, result.lost, result.twice, result.messages_twice, seconds, server_errors)
    )
    # Parked on a dead-letter topic during the fault: only the malformed records may be. A
    # valid event parked because the database's outage looked like a bad record is lost.
    dead_after = await dead_letters(cluster)
    parked = {s: dead_after[s] - dead_before[s] for s in dead_after}
    assert accepted > 0, "the load stopped while the fault lasted and never resumed"
    assert result.exact, f"{fault}: {'; '.join(result.details)}; parked on dead-letter topics: {parked}"
    assert server_errors == 0, f"{fault}: answered {dict(LOAD.server_errors)} where a fault must give 503"
    async with httpx.AsyncClient(timeout=5) as client:
        for service in stack.services:
            ready = await client.get(f"{stack.url(service)}/readyz")
            assert ready.status_code == 200, f"{service} not ready after {fault}: {ready.text}"
    if fault.startswith("duplicated"):
        # The malformed records went to the marks topic: its readers each park them; la-returns
        # does not read marks.
        assert parked == {"analytics": 4, "notification": 4, "la-returns": 0, "support": 4}
    else:
        assert not any(parked.values()), f"{fault}: valid events were parked on dead-letter topics: {parked}"


async def test_the_tally_sees_a_mark_lost_or_counted_twice_and_a_message_planned_twice(stack: LocalStack) -> None:
    """The suite's own control: a mark taken from a projection, or added, must show."""
    assert (await tally(stack)).exact
    conn = await asyncpg.connect(dsn(stack))
    try:
        pupil_year = "school_urn = $1 AND upn = $2 AND academic_year = $3"
        key = await conn.fetchrow(
            "SELECT school_urn, upn, academic_year FROM analytics.pupil_years WHERE present > 0 LIMIT 1"
        )
        await conn.execute(f"UPDATE analytics.pupil_years SET present = present + 1 WHERE {pupil_year}", *key)
        assert (await tally(stack)).twice == 1
        await conn.execute(f"UPDATE analytics.pupil_years SET present = present - 1 WHERE {pupil_year}", *key)

        pupil = await conn.fetchrow(
            "DELETE FROM la_returns.pupils WHERE ctid = (SELECT ctid FROM la_returns.pupils LIMIT 1) RETURNING *"
        )
        assert (await tally(stack)).lost == 1
        columns = ", ".join(pupil.keys())
        values = ", ".join(f"${i + 1}" for i in range(len(pupil)))
        await conn.execute(f"INSERT INTO la_returns.pupils ({columns}) VALUES ({values})", *pupil.values())

        copy = await conn.fetchval(
            "INSERT INTO notification.messages (idempotency_key, school_urn, upn, rule, about_date, session, channel, "
            "recipient_role, contact_index, body, status) "
            "SELECT idempotency_key || ':copy', school_urn, upn, rule, about_date, session, channel, recipient_role, "
            "contact_index, body, status FROM notification.messages "
            "WHERE rule = 'first-day-absence' AND about_date = $1 AND status <> 'cancelled' LIMIT 1 RETURNING id",
            TODAY,
        )
        assert (await tally(stack)).messages_twice == 1
        await conn.execute("DELETE FROM notification.messages WHERE id = $1", copy)
    finally:
        await conn.close()
    assert (await tally(stack)).exact


CLIENTS = 40
OUTAGE_S = 8
# What any request may be answered with while the database comes and goes: its result, a
# refusal of what it asked (a lost race, an amendment that changes nothing), or a 503.
DOCUMENTED = {200, 201, 404, 409, 422, 503}


async def test_forty_clients_through_a_database_outage_get_only_documented_answers(stack: LocalStack) -> None:
    """Forty clients at once, reading and writing the same registers on every service, while
    PostgreSQL is stopped for eight seconds: each answer is documented, each refusal a
    problem, each 503 says when to retry, and every service is ready again after."""
    async with httpx.AsyncClient(base_url=stack.url("register"), timeout=10) as client:
        if not LOAD.pupils:
            await LOAD.admit_everyone(client)
    urn = next(iter(SCHOOLS))
    la_code = SCHOOLS[urn][0]
    days = [TODAY - timedelta(days=d) for d in range(1, 30) if (TODAY - timedelta(days=d)).weekday() < 5][:3]
    answers: Counter = Counter()
    wrong: list[str] = []
    stopping = asyncio.Event()

    async def client_loop(number: int) -> None:
        rng = random.Random(number)
        async with httpx.AsyncClient(timeout=15, headers=ADMIN) as client:
            while not stopping.is_set():
                day, session = rng.choice(days), rng.choice(["am", "pm"])
                code = rng.choice(["/", "N", "I"]) if session == "am" else rng.choice(["\\", "N", "I"])
                upn = rng.choice(LOAD.pupils[urn])
                register = f"{stack.url('register')}/v1/schools/{urn}/registers/{day}/{session}"
                request = rng.choice(
                    [
                        ("PUT", register, {"marks": [LOAD.mark(u, code) for u in LOAD.pupils[urn]]}),
                        ("PATCH", f"{register}/marks/{upn}", {"code": code, "reason": "phoned", "made_by": MADE_BY}),
                        ("GET", register, None),
                        ("GET", f"{stack.url('register')}/v1/schools/{urn}/pupils/{upn}/marks", None),
                        ("GET", f"{stack.url('analytics')}/v1/schools/{urn}/attendance", None),
                        ("GET", f"{stack.url('notification')}/v1/schools/{urn}/notifications", None),
                        ("GET", f"{stack.url('la-returns')}/v1/las/{la_code}/returns", None),
                        ("GET", f"{stack.url('support')}/v1/schools/{urn}/support-cases", None),
                        (
                            "POST",
                            f"{stack.url('support')}/v1/schools/{urn}/support-cases",
                            {"upn": upn, "lead": "Ms Reid", "reason": "attendance falling"},
                        ),
                    ]
                )
                method, url, body = request
                try:
                    response = await client.request(method, url, json=body)
                except httpx.TransportError:
                    continue
                answers[response.status_code] += 1
                is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
                if (
                    response.status_code not in DOCUMENTED
                    or (response.status_code >= 400 and not is_problem)
                    or (response.status_code == 503 and "retry-after" not in response.headers)
                ):
                    wrong.append(f"{method} {url}: {response.status_code} {response.text[:200]}")

    clients = [asyncio.create_task(client_loop(n)) for n in range(CLIENTS)]
    try:
        await asyncio.sleep(3)
        assert stack.postgres is not None
        await asyncio.to_thread(stack.postgres.stop)
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(stack.postgres.start)
        await asyncio.sleep(5)
    finally:
        stopping.set()
        await asyncio.gather(*clients)
    print(f"[outage] answers by status: {dict(sorted(answers.items()))}")
    assert answers[503] > 0, "the outage was never seen"
    assert answers[200] > 0
    assert not wrong, f"{len(wrong)} undocumented answers, e.g. {wrong[:5]}"
    async with httpx.AsyncClient(timeout=5) as client:
        for service in stack.services:
            for _ in range(50):
                if (await client.get(f"{stack.url(service)}/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.5)
            else:
                raise AssertionError(f"{service} not ready after the outage")
