"""support-service on the real database and broker: flags suggest cases, staff accept or
dismiss them, a case moves along the continuum with its chronology, every read is logged, and
the penalty-notice threshold leaves a duty to consider that outlives the flag."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared import topics
from attendance_shared.auth import Role, pupil_scope_key
from attendance_shared.clock import today_in_england
from attendance_shared.events import (
    Contact,
    Event,
    FlagEvidence,
    NotificationOutcomeV1,
    PupilAdmittedV1,
    PupilDeletedV1,
    RiskFlagClearedV1,
    RiskFlagRaisedV1,
    SchoolUpsertedV1,
    SessionMarkedV1,
    make_event,
    pupil_key,
)
from attendance_shared.kafka import KafkaPublisher, ensure_topics
from attendance_shared.rules.calendar import WeekdayCalendar
from attendance_shared.rules.figures import academic_year_of
from attendance_shared.rules.leave import school_weeks_end
from attendance_shared.rules.letters import MEETING_INVITATION, PENALTY_NOTICE_LETTER
from attendance_stack.kafka import KafkaCluster
from attendance_stack.processes import free_port
from support_service.app import create_app
from support_service.settings import Settings
from tests.factories import make_upn
from tests.helpers import app_client, bearer, eventually, read_topic, scalar

pytestmark = pytest.mark.integration

URN, OTHER_URN, LA = "140001", "140002", "205"
TODAY = today_in_england()
YEAR = academic_year_of(TODAY)


@pytest.fixture(autouse=True)
def _today_at_each_test() -> None:
    """Read at each test's start, not once at collection: a run that crossed midnight compared
    yesterday's date with the service's today (an action due "today" came back overdue)."""
    global TODAY, YEAR
    TODAY = today_in_england()
    YEAR = academic_year_of(TODAY)


ADA, BEN, CAL, LEFT = (make_upn(la_code=LA, serial=s) for s in (401, 402, 403, 404))
STAFF = bearer(Role.STAFF, subject="lead@school", schools=[URN])


def event(payload: object, subject: str) -> Event:
    return make_event(payload, source="/test", subject=subject)  # type: ignore[arg-type]


def admission(upn: str, urn: str = URN) -> Event:
    payload = PupilAdmittedV1(
        school_urn=urn,
        la_code=LA,
        upn=upn,
        legal_surname="Okafor",
        legal_forename=f"P{upn[-3:]}",
        date_of_birth=date(2014, 5, 1),
        year_group="7",
        admission_date=TODAY - timedelta(days=200),
        contacts=(Contact(name="Grace Okafor", relationship="mother"), Contact(name="Tom Okafor")),
    )
    return event(payload, pupil_key(urn, upn))


def flag(upn: str, name: str, *, raised: bool = True, reached_on: date | None = None, year: int = YEAR) -> Event:
    kind = RiskFlagRaisedV1 if raised else RiskFlagClearedV1
    evidence = (
        FlagEvidence(count=10, unit="sessions", since=TODAY - timedelta(days=60), until=TODAY, reached_on=reached_on)
        if name == "penalty_notice_threshold"
        else None
    )
    payload = kind(
        school_urn=URN,
        la_code=LA,
        upn=upn,
        flag=name,  # type: ignore[arg-type]
        academic_year=year,
        possible_sessions=120,
        absent_sessions=14,
        overall_absence_rate=11.7,
        as_of=TODAY,
        evidence=evidence,
    )
    return event(payload, pupil_key(URN, upn))


async def publish(kafka: KafkaCluster, items: list[Event]) -> None:
    wanted = [topics.SCHOOLS, topics.PUPILS, topics.RISK_FLAGS]
    publisher = KafkaPublisher(kafka.bootstrap_servers, wanted, client_id="support-test")
    topic_of = {
        SchoolUpsertedV1: topics.SCHOOLS.name,
        PupilAdmittedV1: topics.PUPILS.name,
        PupilDeletedV1: topics.PUPILS.name,
        RiskFlagRaisedV1: topics.RISK_FLAGS.name,
        RiskFlagClearedV1: topics.RISK_FLAGS.name,
    }
    await publisher.publish([(topic_of[type(i.data)], i.key, i.to_bytes(), []) for i in items])
    await publisher.close()


@pytest.fixture
async def support(database_url: str, engine: AsyncEngine, broker: KafkaCluster) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        review_check_interval_s=0.2,
        register_url=f"http://127.0.0.1:{free_port()}",  # no register in these tests
        upstream_retries=1,
    )
    await publish(
        broker,
        [
            event(SchoolUpsertedV1(urn=URN, la_code=LA, name="Hill Top Academy"), URN),
            event(SchoolUpsertedV1(urn=OTHER_URN, la_code="999", name="Far Away School"), OTHER_URN),
            admission(ADA),
            admission(BEN),
            admission(CAL),
            admission(LEFT),
            event(
                PupilDeletedV1(school_urn=URN, la_code=LA, upn=LEFT, left_on=TODAY - timedelta(days=3), ground="a"),
                pupil_key(URN, LEFT),
            ),
        ],
    )
    async with app_client(create_app(settings), STAFF) as client:

        async def pupils_arrived() -> None:
            on_roll = "SELECT count(*) FROM support.pupils WHERE left_on IS NULL"
            assert (await scalar(engine, on_roll), await scalar(engine, "SELECT count(*) FROM support.pupils")) == (
                3,
                4,
            )

        await eventually(pupils_arrived)
        yield client


async def pending_suggestions(client: httpx.AsyncClient) -> list[dict]:
    response = await client.get(f"/v1/schools/{URN}/support-suggestions")
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_flag_suggests_a_case_that_staff_accept_and_work_through_the_continuum(
    support: httpx.AsyncClient, broker: KafkaCluster
) -> None:
    await publish(broker, [flag(ADA, "persistent_absence"), flag(ADA, "at_risk_of_persistent_absence")])

    async def suggested() -> list[dict]:
        items = await pending_suggestions(support)
        assert [(s["upn"], s["flags"]) for s in items] == [
            (ADA, ["persistent_absence", "at_risk_of_persistent_absence"])
        ]
        return items

    (suggestion,) = await eventually(suggested)
    assert suggestion["status"] == "pending" and suggestion["forename"] == "P401"
    assert await support.get(f"/v1/schools/{URN}/support-cases") is not None
    assert (await support.get(f"/v1/schools/{URN}/support-cases")).json()["items"] == []  # never opened silently

    accepted = await support.post(
        f"/v1/schools/{URN}/support-suggestions/{suggestion['id']}/accept",
        json={"lead": "Ms Reid", "barriers": [{"barrier": "anxiety_or_ebsa", "notes": "worried about PE"}]},
    )
    assert accepted.status_code == 201, accepted.text
    case = accepted.json()
    assert (case["origin"], case["stage"], case["status"], case["suggestion_id"]) == (
        "suggestion",
        "monitor",
        "open",
        suggestion["id"],
    )
    assert "persistently absent" in case["stage_history"][0]["reason"]
    again = await support.post(f"/v1/schools/{URN}/support-suggestions/{suggestion['id']}/accept", json={"lead": "X"})
    assert again.status_code == 409

    # A second open case for the same pupil is refused, naming the field.
    second = await support.post(f"/v1/schools/{URN}/support-cases", json={"upn": ADA, "lead": "Mr B", "reason": "r"})
    assert second.status_code == 409 and second.json()["errors"][0]["field"] == "upn"
    # A flag raised while the case is open suggests nothing more.
    await publish(broker, [flag(ADA, "severe_absence")])

    url = f"/v1/schools/{URN}/support-cases/{case['id']}"
    for stage, reason in (
        ("listen_and_understand", "met mum, anxiety about PE"),
        ("facilitate_support", "school nurse referral"),
        ("formalise_support", "voluntary support not working"),
    ):
        moved = await support.post(f"{url}/stage", json={"stage": stage, "reason": reason})
        assert moved.status_code == 200, moved.text
    assert (await support.post(f"{url}/stage", json={"stage": "prosecute", "reason": "x"})).status_code == 422
    same = await support.post(f"{url}/stage", json={"stage": "formalise_support", "reason": "x"})
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "stage"

    # The chronology: immutable entries, a correction pointing at what it corrects.
    call = {
        "kind": "call",
        "happened_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "made_by": "Ms Reid",
        "with_whom": "Grace Okafor (mother)",
        "outcome": "agreed a meeting on Friday",
    }
    first = await support.post(f"{url}/contacts", json=call)
    assert first.status_code == 201, first.text
    correction = await support.post(
        f"{url}/contacts", json={**call, "outcome": "agreed a meeting on Thursday", "corrects": first.json()["id"]}
    )
    assert correction.status_code == 201
    bad = await support.post(f"{url}/contacts", json={**call, "corrects": str(uuid.uuid4())})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "corrects"
    future = await support.post(
        f"{url}/contacts", json={**call, "happened_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    )
    assert future.status_code == 422
    chronology = (await support.get(f"{url}/contacts")).json()["items"]
    assert [c["outcome"] for c in chronology] == ["agreed a meeting on Friday", "agreed a meeting on Thursday"]
    assert chronology[0]["corrected_by"] == correction.json()["id"]
    assert chronology[1]["corrects"] == first.json()["id"]
    one = (await support.get(f"{url}/contacts", params={"limit": 1})).json()
    two = (await support.get(f"{url}/contacts", params={"limit": 1, "cursor": one["next_cursor"]})).json()
    assert [c["id"] for c in one["items"] + two["items"]] == [c["id"] for c in chronology] and not two["next_cursor"]

    closed = await support.post(f"{url}/close", json={"outcome": "attendance_improved", "notes": "back to 97%"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert (await support.post(f"{url}/stage", json={"stage": "enforce", "reason": "x"})).status_code == 409
    history = (await support.get(url)).json()["stage_history"]
    assert [h["to_stage"] for h in history] == [
        "monitor",
        "listen_and_understand",
        "facilitate_support",
        "formalise_support",
    ]

    # Every change reached the stream through the outbox, in order, with no free text.
    records = await read_topic(broker.bootstrap_servers, topics.SUPPORT_CASES.name, expected=5)
    changes = [orjson.loads(r.value) for r in records]
    assert [(c["type"].split(".")[-2], c["data"]["change"]) for c in changes] == [
        ("opened", 1),
        ("stage-changed", 2),
        ("stage-changed", 3),
        ("stage-changed", 4),
        ("closed", 5),
    ]
    assert changes[0]["data"]["barriers"] == ["anxiety_or_ebsa"] and "worried" not in str(changes)
    assert all(r.key == pupil_key(URN, ADA).encode() for r in records)


async def test_a_dismissed_suggestion_is_not_made_again_for_the_same_flag_this_year(
    support: httpx.AsyncClient, broker: KafkaCluster
) -> None:
    await publish(broker, [flag(BEN, "at_risk_of_persistent_absence")])

    async def one() -> dict:
        items = await pending_suggestions(support)
        assert len(items) == 1
        return items[0]

    suggestion = await eventually(one)
    url = f"/v1/schools/{URN}/support-suggestions/{suggestion['id']}/dismiss"
    assert (await support.post(url, json={})).status_code == 422  # the reason is required
    dismissed = await support.post(url, json={"reason": "known family bereavement; pastoral lead is supporting"})
    assert dismissed.status_code == 200 and dismissed.json()["status"] == "dismissed"
    # The flag clears and rises again (and a flag that suggests nothing arrives): no new
    # suggestion for it; a different flag is a new question.
    await publish(
        broker,
        [
            flag(BEN, "at_risk_of_persistent_absence", raised=False),
            flag(BEN, "at_risk_of_persistent_absence"),
            flag(BEN, "long_sickness"),
            flag(BEN, "persistent_absence"),
        ],
    )

    async def asked_about_persistence() -> None:
        assert [s["flags"] for s in await pending_suggestions(support)] == [["persistent_absence"]]

    await eventually(asked_about_persistence)
    listed = (await support.get(f"/v1/schools/{URN}/support-suggestions", params={"status": "dismissed"})).json()
    assert [s["dismissal_reason"] for s in listed["items"]] == ["known family bereavement; pastoral lead is supporting"]


async def test_the_duty_to_consider_a_penalty_notice_outlives_the_flag(
    support: httpx.AsyncClient, broker: KafkaCluster
) -> None:
    reached = TODAY - timedelta(days=2)
    await publish(broker, [flag(CAL, "penalty_notice_threshold", reached_on=reached)])

    async def pending() -> dict:
        items = (await support.get(f"/v1/schools/{URN}/penalty-considerations")).json()["items"]
        assert len(items) == 1 and items[0]["flag_active"] is True
        return items[0]

    consideration = await eventually(pending)
    assert consideration["reached_on"] == reached.isoformat() and consideration["evidence"]["count"] == 10
    # The rolling window passes: the flag clears, the entry stays, now saying so. The same
    # threshold raised again (a rebuild) makes no second entry.
    await publish(
        broker,
        [
            flag(CAL, "penalty_notice_threshold", raised=False),
            flag(CAL, "penalty_notice_threshold", reached_on=reached),
        ],
    )
    await publish(broker, [flag(CAL, "penalty_notice_threshold", raised=False)])

    async def cleared() -> dict:
        items = (await support.get(f"/v1/schools/{URN}/penalty-considerations")).json()["items"]
        assert [(i["flag_active"], i["status"]) for i in items] == [(False, "pending")]
        return items[0]

    await eventually(cleared)
    url = f"/v1/schools/{URN}/penalty-considerations/{consideration['id']}/decision"
    unknown = await support.post(url, json={"decisions": [{"parent_name": "Someone Else", "decision": "issue"}]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "decisions[0].parent_name"
    no_reason = await support.post(url, json={"decisions": [{"parent_name": "Tom Okafor", "decision": "not_issue"}]})
    assert no_reason.status_code == 422
    decided = await support.post(
        url,
        json={
            "decisions": [
                {"parent_name": "Grace Okafor", "decision": "issue"},
                {"parent_name": "Tom Okafor", "decision": "not_issue", "reason": "does not live with the child"},
            ]
        },
    )
    assert decided.status_code == 200, decided.text
    assert [(d["parent_name"], d["decision"]) for d in decided.json()["decisions"]] == [
        ("Grace Okafor", "issue"),
        ("Tom Okafor", "not_issue"),
    ]
    assert (
        await support.post(url, json={"decisions": [{"parent_name": "Grace Okafor", "decision": "issue"}]})
    ).status_code == 409
    assert (await support.get(f"/v1/schools/{URN}/penalty-considerations")).json()["items"] == []


async def test_who_sees_a_case_and_every_read_is_logged(support: httpx.AsyncClient, broker: KafkaCluster) -> None:
    opened = await support.post(
        f"/v1/schools/{URN}/support-cases",
        json={
            "upn": CAL,
            "lead": "Mr Hale",
            "reason": "attendance falling since October",
            "stage": "facilitate_support",
        },
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    url = f"/v1/schools/{URN}/support-cases/{case_id}"
    la = bearer(Role.LA, subject="officer@la", la_code=LA)
    worker = bearer(Role.SOCIAL_WORKER, subject="sw@la", pupils=[pupil_scope_key(URN, CAL)])
    parent = bearer(Role.PARENT, subject="mum", pupils=[pupil_scope_key(URN, CAL)])

    # The LA sees a case once it is formal, enforced, or referred to it; not before.
    assert (await support.get(url, headers=la)).status_code == 404
    assert (await support.get(f"/v1/las/{LA}/support-cases", headers=la)).json()["items"] == []
    referred = await support.patch(url, json={"referred_to_la": True})
    assert referred.status_code == 200 and referred.json()["referred_to_la"] is True
    assert (await support.get(url, headers=la)).status_code == 200
    assert [c["id"] for c in (await support.get(f"/v1/las/{LA}/support-cases", headers=la)).json()["items"]] == [
        case_id
    ]
    # The pupil's social worker reads the pupil's cases; a parent may not.
    mine = await support.get(f"/v1/schools/{URN}/pupils/{CAL}/support-cases", headers=worker)
    assert mine.status_code == 200 and [c["id"] for c in mine.json()["items"]] == [case_id]
    assert (await support.get(f"/v1/schools/{URN}/pupils/{CAL}/support-cases", headers=parent)).status_code == 403
    assert (await support.get(f"/v1/schools/{URN}/pupils/{ADA}/support-cases", headers=worker)).status_code == 404

    await support.get(f"/v1/schools/{URN}/support-cases", params={"stage": "facilitate_support"})
    reads = (await support.get(f"{url}/reads")).json()["items"]
    assert [(r["reader"], r["role"], r["what"]) for r in reads][:4] == [
        ("lead@school", "staff", "list"),
        ("sw@la", "social_worker", "case"),
        ("officer@la", "la", "list"),
        ("officer@la", "la", "case"),
    ]
    assert (await support.get(f"{url}/reads", headers=la)).status_code == 403


async def test_lists_filter_page_and_answer_csv(support: httpx.AsyncClient) -> None:
    left = await support.post(f"/v1/schools/{URN}/support-cases", json={"upn": LEFT, "lead": "Ms Reid", "reason": "r"})
    assert left.status_code == 422 and "not on roll" in left.json()["detail"]
    for upn, lead in ((ADA, "Ms Reid"), (BEN, "Mr Hale"), (CAL, "Ms Reid")):
        response = await support.post(
            f"/v1/schools/{URN}/support-cases", json={"upn": upn, "lead": lead, "reason": "termly review"}
        )
        assert response.status_code == 201
    listed = (await support.get(f"/v1/schools/{URN}/support-cases", params={"lead": "ms reid"})).json()
    assert sorted(c["upn"] for c in listed["items"]) == [ADA, CAL]
    first = (await support.get(f"/v1/schools/{URN}/support-cases", params={"limit": 2})).json()
    rest = (
        await support.get(f"/v1/schools/{URN}/support-cases", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {c["upn"] for c in first["items"] + rest["items"]} == {ADA, BEN, CAL}
    csv = await support.get(f"/v1/schools/{URN}/support-cases", headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    header, *rows = csv.text.strip().splitlines()
    assert "lead" in header.split(",") and len(rows) == 3
    bad = await support.get(f"/v1/schools/{URN}/support-cases", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
    assert (await support.get(f"/v1/schools/{URN}/support-cases", params={"stage": "nope"})).status_code == 422
    # No calendar has arrived for the school: no school day has passed, so nothing is overdue.
    overdue = await support.get(f"/v1/schools/{URN}/support-cases", params={"overdue": "contact"})
    assert overdue.status_code == 200 and overdue.json()["items"] == []


async def test_a_plan_is_agreed_reviewed_and_kept_in_every_version(
    support: httpx.AsyncClient, broker: KafkaCluster
) -> None:
    opened = await support.post(f"/v1/schools/{URN}/support-cases", json={"upn": BEN, "lead": "Ms Reid", "reason": "r"})
    case_id = opened.json()["id"]
    plans_url = f"/v1/schools/{URN}/support-cases/{case_id}/plans"
    start = TODAY - timedelta(days=30)
    actions = [
        {"type": "daily_check_in", "what": "Meet at the gate each morning", "owner": "Mr Hale", "due_on": str(start)},
        {"type": "home_visit", "what": "Home visit", "owner": "Ms Reid", "due_on": str(TODAY - timedelta(days=2))},
        {"type": "early_help_referral", "what": "Refer to early help", "owner": "Ms Reid", "due_on": str(TODAY)},
    ]
    early = await support.post(
        plans_url,
        json={
            "target_attendance_percent": 92,
            "starts_on": str(start),
            "actions": [*actions, {**actions[0], "due_on": str(start - timedelta(days=1))}],
        },
    )
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "actions[3].due_on"
    created = await support.post(
        plans_url, json={"target_attendance_percent": 92, "starts_on": str(start), "actions": actions}
    )
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["review_on"] == str(school_weeks_end(WeekdayCalendar(), start, 6))  # no calendar yet: weekdays
    assert [a["overdue"] for a in plan["actions"]] == [True, True, False]
    assert (
        await support.post(plans_url, json={"target_attendance_percent": 90, "actions": actions})
    ).status_code == 409

    async def overdue(kind: str) -> list[str]:
        listed = await support.get(f"/v1/schools/{URN}/support-cases", params={"overdue": kind})
        return [c["upn"] for c in listed.json()["items"]]

    assert (await overdue("action"), await overdue("review")) == ([BEN], [])
    plan_url = f"{plans_url}/{plan['id']}"
    ids = [a["id"] for a in plan["actions"]]
    changed = await support.patch(
        plan_url,
        json={
            "action_changes": [{"id": ids[0], "status": "done"}, {"id": ids[1], "status": "dropped"}],
            "add_actions": [{**actions[2], "type": "mentoring", "what": "Weekly mentor"}],
            "review_on": str(TODAY - timedelta(days=1)),
        },
    )
    assert changed.status_code == 200, changed.text
    assert (await overdue("action"), await overdue("review")) == ([], [BEN])
    # What the LA's Targeting Support Meeting pack reads: no notes, the actions not dropped.
    service = bearer(Role.SERVICE, subject="la-returns-service")
    briefs = await support.get(f"/v1/schools/{URN}/support-case-summaries", headers=service)
    brief = next(b for b in briefs.json()["items"] if b["upn"] == BEN)
    assert (brief["lead"], brief["stage"], brief["plan"]["target_attendance_percent"]) == (
        "Ms Reid",
        opened.json()["stage"],
        92,
    )
    assert [(a["what"], a["status"]) for a in brief["plan"]["actions"]] == [
        ("Meet at the gate each morning", "done"),
        ("Refer to early help", "open"),
        ("Weekly mentor", "open"),
    ]
    reads = (await support.get(f"/v1/schools/{URN}/support-cases/{case_id}/reads")).json()["items"]
    assert ("la-returns-service", "service", "summary") in [(r["reader"], r["role"], r["what"]) for r in reads]

    async def review_due_announced() -> None:
        records = await read_topic(broker.bootstrap_servers, topics.SUPPORT_CASES.name, expected=2, timeout_s=1)
        assert any(r.value and b"support-plan.review-due" in r.value for r in records)

    await eventually(review_due_announced)  # the periodic check runs every 0.2 s here
    await asyncio.sleep(1)  # five more checks: none announces the same review date again
    unknown = await support.patch(plan_url, json={"action_changes": [{"id": str(uuid.uuid4()), "status": "done"}]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "action_changes[0].id"

    agreed = await support.post(f"{plan_url}/agreement", json={"agreed_by": "Grace Okafor", "agreed_on": str(TODAY)})
    assert agreed.status_code == 200 and agreed.json()["agreed_by"] == "Grace Okafor"
    reviewed = await support.post(
        f"{plan_url}/reviews",
        json={"reviewed_on": str(TODAY), "by": "Ms Reid", "notes": "mornings better; PE still hard"},
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["review_on"] == str(school_weeks_end(WeekdayCalendar(), TODAY + timedelta(days=1), 6))
    versions = (await support.get(f"{plan_url}/versions")).json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert (
        versions[0]["record"]["actions"][0]["status"] == "open"
        and versions[1]["record"]["actions"][0]["status"] == "done"
    )

    # The family sees the target, the actions still in the plan and the review date; no notes.
    parent = bearer(Role.PARENT, subject="mum", pupils=[pupil_scope_key(URN, BEN)])
    seen = await support.get(f"/v1/schools/{URN}/pupils/{BEN}/support-plan", headers=parent)
    assert seen.status_code == 200, seen.text
    assert [a["what"] for a in seen.json()["plan"]["actions"]] == [
        "Meet at the gate each morning",
        "Refer to early help",
        "Weekly mentor",
    ]
    assert "PE still hard" not in seen.text and "notes" not in seen.text
    other = bearer(Role.PARENT, subject="dad", pupils=[pupil_scope_key(URN, ADA)])
    assert (await support.get(f"/v1/schools/{URN}/pupils/{BEN}/support-plan", headers=other)).status_code == 404
    none_yet = await support.get(f"/v1/schools/{URN}/pupils/{CAL}/support-plan")
    assert none_yet.status_code == 200 and none_yet.json()["plan"] is None

    # The review date passed before the review: announced once, on the stream, beside the agreement.
    records = await read_topic(broker.bootstrap_servers, topics.SUPPORT_CASES.name, expected=3)
    kinds = [orjson.loads(r.value)["type"] for r in records]
    assert kinds.count("uk.attendance.support-plan.agreed.v1") == 1
    assert kinds.count("uk.attendance.support-plan.review-due.v1") == 1
    agreed_event = next(orjson.loads(r.value)["data"] for r in records if r.value and b"plan.agreed" in r.value)
    assert agreed_event["action_types"] == ["daily_check_in", "early_help_referral", "mentoring"]
    ended = await support.post(f"{plan_url}/end", json={"reason": "replaced by an attendance contract"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    assert (await support.patch(plan_url, json={"target_attendance_percent": 95})).status_code == 409


async def test_the_formal_stages_refuse_what_the_law_and_the_la_do_not_allow(support: httpx.AsyncClient) -> None:
    opened = await support.post(f"/v1/schools/{URN}/support-cases", json={"upn": ADA, "lead": "Ms Reid", "reason": "r"})
    url = f"/v1/schools/{URN}/support-cases/{opened.json()['id']}"
    officer = bearer(Role.LA, subject="officer@la", la_code=LA)

    # The LA narrows the improvement period to 4 to 5 school weeks.
    assert (await support.get(f"/v1/las/{LA}/support-settings", headers=officer)).json() == {
        "nti_min_school_weeks": 3,
        "nti_max_school_weeks": 6,
    }
    bounds = {"nti_min_school_weeks": 4, "nti_max_school_weeks": 5}
    assert (await support.put(f"/v1/las/{LA}/support-settings", json=bounds, headers=officer)).status_code == 200
    upside_down = {"nti_min_school_weeks": 6, "nti_max_school_weeks": 5}
    assert (await support.put(f"/v1/las/{LA}/support-settings", json=upside_down, headers=officer)).status_code == 422
    notice = {
        "issued_on": str(TODAY),
        "school_weeks": 3,
        "criterion": "attendance_at_least",
        "min_attendance_percent": 95,
    }
    short = await support.post(f"{url}/notices-to-improve", json=notice)
    assert short.status_code == 422 and "4 to 5 school weeks" in short.json()["errors"][0]["message"]
    no_target = await support.post(f"{url}/notices-to-improve", json={**notice, "min_attendance_percent": None})
    assert no_target.status_code == 422
    issued = await support.post(f"{url}/notices-to-improve", json={**notice, "school_weeks": 4})
    assert (
        issued.status_code == 201
        and issued.json()["criterion_text"] == "attendance of at least 95% in the improvement period"
    )
    assert (await support.post(f"{url}/notices-to-improve", json={**notice, "school_weeks": 4})).status_code == 409

    # A contract is agreed with a parent and reviewed; an order lasts a year and is discharged.
    contract = {"agreed_with": [], "agreed_on": str(TODAY), "parent_requirements": ["x"], "support_offered": ["y"]}
    assert (await support.post(f"{url}/attendance-contracts", json=contract)).status_code == 422
    made = await support.post(f"{url}/attendance-contracts", json={**contract, "agreed_with": ["Grace Okafor"]})
    assert made.status_code == 201 and made.json()["review_on"] > str(TODAY)
    ended = await support.post(f"{url}/attendance-contracts/{made.json()['id']}/end", json={"outcome": "kept to it"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    order = {
        "court_date": str(TODAY - timedelta(days=10)),
        "made_on": str(TODAY - timedelta(days=11)),
        "supervisor": "J. Patel",
    }
    assert (await support.post(f"{url}/supervision-orders", json=order)).json()["errors"][0]["field"] == "made_on"
    made_order = await support.post(f"{url}/supervision-orders", json={**order, "made_on": order["court_date"]})
    assert made_order.status_code == 201
    assert made_order.json()["expires_on"] == str((TODAY - timedelta(days=10)).replace(year=TODAY.year + 1))
    order_url = f"{url}/supervision-orders/{made_order.json()['id']}"
    both = await support.patch(
        order_url, json={"extend_to": str(TODAY + timedelta(days=400)), "discharged_on": str(TODAY)}
    )
    assert both.status_code == 422
    assert (await support.patch(order_url, json={"discharged_on": str(TODAY)})).json()["status"] == "discharged"

    # A penalty notice names a parent the register holds; its sessions are read from the
    # register, which is not running in this test: a 503 to retry, nothing stored.
    sessions = [{"date": str(TODAY - timedelta(days=d)), "session": "am"} for d in range(1, 11)]
    stranger = await support.post(
        f"{url}/penalty-notices", json={"parent_name": "A Stranger", "issued_on": str(TODAY), "sessions": sessions}
    )
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "parent_name"
    away = await support.post(
        f"{url}/penalty-notices", json={"parent_name": "grace okafor", "issued_on": str(TODAY), "sessions": sessions}
    )
    assert away.status_code == 503 and "register" in away.json()["detail"]
    assert (await support.get(f"{url}/penalty-notices")).json() == []


async def test_a_flag_of_another_academic_year_joins_the_pupils_pending_suggestion(
    support: httpx.AsyncClient, broker: KafkaCluster
) -> None:
    """Found by the fault suite: last year's pending suggestion was not found when this year's
    flag came, so a second pending one was inserted, refused by the one-pending index, and the
    event went to the dead-letter topic."""
    await ensure_topics(broker.bootstrap_servers, [topics.dead_letter_topic("support")])
    await publish(broker, [flag(CAL, "persistent_absence", year=YEAR - 1)])

    async def one_pending() -> dict:
        items = await pending_suggestions(support)
        assert [s["upn"] for s in items] == [CAL]
        return items[0]

    first = await eventually(one_pending)
    await publish(broker, [flag(CAL, "severe_absence")])

    async def joined() -> None:
        (item,) = await pending_suggestions(support)
        assert (item["id"], item["flags"]) == (first["id"], ["persistent_absence", "severe_absence"])

    await eventually(joined)
    parked = await read_topic(
        broker.bootstrap_servers, topics.dead_letter_topic("support").name, expected=1, timeout_s=2
    )
    assert parked == []


async def test_marks_are_kept_for_pupils_with_an_open_case_by_revision_without_the_inbox(
    support: httpx.AsyncClient, broker: KafkaCluster, engine: AsyncEngine
) -> None:
    opened = await support.post(f"/v1/schools/{URN}/support-cases", json={"upn": ADA, "lead": "Ms Reid", "reason": "r"})
    assert opened.status_code == 201
    day = TODAY - timedelta(days=1)

    def mark(upn: str, code: str, revision: int) -> Event:
        payload = SessionMarkedV1(
            school_urn=URN, la_code=LA, upn=upn, date=day, session="am", code=code, revision=revision,
            recorded_at=datetime.now(UTC),
        )  # fmt: skip
        return event(payload, pupil_key(URN, upn))

    amended, first = mark(ADA, "I", 2), mark(ADA, "N", 1)
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.MARKS], client_id="support-test-marks")
    # The amendment, the first mark late and twice, and a mark of a pupil with no open case.
    items = [amended, first, first, mark(BEN, "O", 1)]
    await publisher.publish([(topics.MARKS.name, i.key, i.to_bytes(), []) for i in items])
    await publisher.close()

    async def kept() -> None:
        rows = await scalar(engine, "SELECT string_agg(upn || ':' || code || ':' || revision, ',') FROM support.marks")
        assert rows == f"{ADA}:I:2"

    await eventually(kept)
    # Pupils' events went through the inbox; marks, idempotent by revision, did not.
    topics_recorded = await scalar(engine, "SELECT string_agg(DISTINCT topic, ',') FROM support.processed_events")
    assert topics_recorded is not None and topics.MARKS.name not in str(topics_recorded)
    assert topics.PUPILS.name in str(topics_recorded)


async def test_a_meeting_is_announced_and_each_letter_about_the_case_joins_its_chronology(
    support: httpx.AsyncClient, broker: KafkaCluster
) -> None:
    """Issue 26: the invitation to an attendance meeting goes out through notification-service,
    whose outcome (notifications.outcomes.v1) support-service logs in the case's chronology,
    once however often it is delivered; other messages' outcomes are not the case's."""
    opened = await support.post(f"/v1/schools/{URN}/support-cases", json={"upn": ADA, "lead": "Ms Reid", "reason": "x"})
    assert opened.status_code == 201, opened.text
    url = f"/v1/schools/{URN}/support-cases/{opened.json()['id']}"
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    meeting = {"starts_at": starts.isoformat(), "place": "the school office", "purpose": "to agree a support plan"}
    arranged = await support.post(f"{url}/meetings", json=meeting)
    assert arranged.status_code == 201, arranged.text
    past = await support.post(f"{url}/meetings", json=meeting | {"starts_at": "2026-01-05T09:00:00+00:00"})
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "starts_at"
    assert [m["place"] for m in (await support.get(f"{url}/meetings")).json()] == ["the school office"]
    records = await read_topic(broker.bootstrap_servers, topics.SUPPORT_CASES.name, expected=2)
    announced = orjson.loads(records[-1].value)
    assert announced["type"] == "uk.attendance.support-meeting.arranged.v1"
    assert announced["data"]["meeting_id"] == arranged.json()["id"] and announced["data"]["upn"] == ADA

    def outcome(rule: str, outcome: str, channel: str = "post", contact_index: int = 1) -> Event:
        payload = NotificationOutcomeV1(
            message_id=77,
            school_urn=URN,
            upn=ADA,
            rule=rule,
            about_date=starts.date(),
            recipient_role="parent",
            contact_index=contact_index,
            channel=channel,  # type: ignore[arg-type]
            outcome=outcome,  # type: ignore[arg-type]
            provider="print-run",
            attempts=1,
            occurred_at=datetime.now(UTC),
        )
        return event(payload, pupil_key(URN, ADA))

    sent = outcome(MEETING_INVITATION, "sent")
    publisher = KafkaPublisher(broker.bootstrap_servers, [topics.NOTIFICATION_OUTCOMES], client_id="support-test")
    outcomes = [sent, sent, outcome(MEETING_INVITATION, "delivered"), outcome("first-day-absence", "sent")]
    outcomes.append(outcome(PENALTY_NOTICE_LETTER, "undeliverable", channel="none", contact_index=0))
    await publisher.publish([(topics.NOTIFICATION_OUTCOMES.name, o.key, o.to_bytes(), []) for o in outcomes])
    await publisher.close()

    async def logged() -> None:
        entries = (await support.get(f"{url}/contacts")).json()["items"]
        assert [(e["kind"], e["with_whom"], e["outcome"]) for e in entries] == [
            ("letter", "Tom Okafor", "Invitation to an attendance meeting sent by post"),
            ("letter", "Grace Okafor", "Penalty notice letter not sent (undeliverable): no reason given"),
        ]
        assert {e["recorded_by"] for e in entries} == {"notification-service"}

    await eventually(logged)
