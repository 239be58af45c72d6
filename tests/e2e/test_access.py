"""Who may see what, over real HTTP against the whole stack.

The authorisation matrix is generated from each app's own routes: every route × every role ×
the caller's own object and someone else's. A route without a declared `Access` rule fails.
Expected answers follow the declared rule: a role it does not name gets 403, an object outside
the caller's scope 404, and anything else gets past authorisation (a write with an empty body
then fails validation, which proves it was let through without storing anything).
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from analytics_service.app import create_app as analytics_app
from attendance_shared import topics
from attendance_shared.access import Access, Scope, access_rule_of
from attendance_shared.auth import PUPIL_ROLES, UNRESTRICTED_ROLES, Role, pupil_scope_key
from attendance_shared.clock import today_in_england
from attendance_shared.events import RiskFlagRaisedV1, make_event, pupil_key
from attendance_shared.platform import PUBLIC_PATHS
from attendance_shared.rules.calendar import calendar_from_values
from attendance_shared.settings import CommonSettings
from attendance_stack import LocalStack
from la_returns_service.app import create_app as la_returns_app
from notification_service.app import create_app as notification_app
from register_service.app import create_app as register_app
from support_service.app import create_app as support_app
from tests.e2e.conftest import start_stack
from tests.factories import calendar_body, make_upn, pupil_body, school_body, school_day_ahead
from tests.helpers import bearer, publish_events

pytestmark = pytest.mark.e2e

APPS: dict[str, Callable[[], FastAPI]] = {
    "register": register_app,
    "analytics": analytics_app,
    "notification": notification_app,
    "la-returns": la_returns_app,
    "support": support_app,
}
OWN_LA, OTHER_LA = "301", "302"
OWN_TRUST, OTHER_TRUST = "3001", "3002"
OWN_URN, OTHER_URN = "300001", "300002"
OWN_PUPIL, SIBLING = make_upn(la_code=OWN_LA, serial=1), make_upn(la_code=OWN_LA, serial=2)
OTHER_PUPIL = make_upn(la_code=OTHER_LA, serial=3)
DAY = "2026-11-16"
ADMIN = bearer(Role.ADMIN)

# The scope each role's token holds in the matrix: always the "own" objects below.
SCOPE_HELD: dict[Role, dict[str, object]] = {
    Role.MIS: {"schools": [OWN_URN]},
    Role.STAFF: {"schools": [OWN_URN]},
    Role.LA: {"la_code": OWN_LA},
    Role.TRUST: {"trust_id": OWN_TRUST},
    Role.PARENT: {"pupils": [pupil_scope_key(OWN_URN, OWN_PUPIL)]},
    Role.SOCIAL_WORKER: {"pupils": [pupil_scope_key(OWN_URN, OWN_PUPIL)]},
    Role.ADMIN: {},
    Role.SERVICE: {},
}


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    rule: Access | None


def endpoints_of(service: str) -> list[Endpoint]:
    """Every route the app serves, with routers included, as the app itself resolves them."""
    found = []
    for context in iter_route_contexts(APPS[service]().routes):
        rule = access_rule_of(context.dependant) if isinstance(context.original_route, APIRoute) else None
        found.extend(Endpoint(context.path, method, rule) for method in sorted(context.methods - {"HEAD"}))
    return found


ALL_ROUTES = [(service, endpoint) for service in APPS for endpoint in endpoints_of(service)]
PROTECTED = [(s, e) for s, e in ALL_ROUTES if e.path not in PUBLIC_PATHS]


@dataclass(frozen=True)
class Seeded:
    returns: dict[str, str]  # LA code -> the id of a return compiled for it
    reports: dict[str, str]  # URN -> the id of an absence reported there
    messages: dict[str, str]  # URN -> the id of a message about one of its pupils
    leave: dict[str, str]  # UPN -> the id of a leave request for that pupil
    timetables: dict[str, str]  # UPN -> the id of a part-time timetable of that pupil
    # support-service's objects: path parameter (case_id, plan_id, ...) -> URN -> an id there
    support: dict[str, dict[str, str]]
    documents: dict[str, str]  # URN -> the id of a governor report compiled for that school
    print_runs: dict[str, str]  # URN -> the id of a print run of letters of that school


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # DAY is in the past: the notification service alerts parents about a register up to a
    # month late, so the seeded N gives each school a message for the matrix to ask about.
    stack = start_stack(tmp_path_factory.mktemp("stack"), {"NOTIFICATION_LATE_REGISTER_ALERT_DAYS": "31"})
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def seeded(stack: LocalStack) -> Iterator[Seeded]:
    """Two schools in two LAs, three pupils, a register each, and a return for each LA."""
    with httpx.Client(headers=ADMIN, timeout=30) as client:
        for urn, la, trust, pupils in (
            (OWN_URN, OWN_LA, OWN_TRUST, (OWN_PUPIL, SIBLING)),
            (OTHER_URN, OTHER_LA, OTHER_TRUST, (OTHER_PUPIL,)),
        ):
            register = stack.url("register")
            body = {
                **school_body(la_code=la),
                "trust": {
                    "trust_id": trust,
                    "name": f"Trust {trust}",
                    "kind": "multi_academy_trust",
                    "joined_on": "2025-09-01",
                },
            }
            assert client.put(f"{register}/v1/schools/{urn}", json=body).status_code == 200
            assert client.put(f"{register}/v1/schools/{urn}/calendar", json=calendar_body()).status_code == 200
            for upn in pupils:
                response = client.post(f"{register}/v1/schools/{urn}/pupils", json=pupil_body(upn))
                assert response.status_code == 201, response.text
            marks = {"marks": [{"upn": upn, "code": "/"} for upn in pupils]}
            assert client.put(f"{register}/v1/schools/{urn}/registers/{DAY}/am", json=marks).status_code == 200
            absent = {"marks": [{"upn": pupils[0], "code": "N"}]}
            assert client.put(f"{register}/v1/schools/{urn}/registers/{DAY}/pm", json=absent).status_code == 200
        reports = {}
        for urn, upn in ((OWN_URN, OWN_PUPIL), (OTHER_URN, OTHER_PUPIL)):
            body = {"first_day": DAY, "last_day": DAY, "reason": "a temperature"}
            response = client.post(f"{stack.url('register')}/v1/schools/{urn}/pupils/{upn}/absence-reports", json=body)
            assert response.status_code == 201, response.text
            reports[urn] = response.json()["id"]
        leave, timetables = {}, {}
        ahead = school_day_ahead().isoformat()
        for urn, upn in ((OWN_URN, OWN_PUPIL), (OWN_URN, SIBLING), (OTHER_URN, OTHER_PUPIL)):
            pupil = f"{stack.url('register')}/v1/schools/{urn}/pupils/{upn}"
            body = {"first_day": ahead, "last_day": ahead, "reason": "medical"}
            response = client.post(f"{pupil}/leave-requests", json=body)
            assert response.status_code == 201, response.text
            leave[upn] = response.json()["id"]
            body = {"reason": "medical", "attended_sessions": ["mon_am"], "start_date": ahead}
            response = client.post(f"{pupil}/part-time-timetables", json=body)
            assert response.status_code == 201, response.text
            timetables[upn] = response.json()["id"]

        analytics = stack.url("analytics")
        deadline = time.monotonic() + 30
        pending = [(OWN_URN, OWN_PUPIL), (OWN_URN, SIBLING), (OTHER_URN, OTHER_PUPIL)]
        while pending:
            assert time.monotonic() < deadline, f"analytics never saw {pending}"
            urn, upn = pending[0]
            if client.get(f"{analytics}/v1/schools/{urn}/pupils/{upn}/attendance").status_code == 200:
                pending.pop(0)
            else:
                time.sleep(0.2)

        print_runs = {}
        for urn, upn in ((OWN_URN, OWN_PUPIL), (OTHER_URN, OTHER_PUPIL)):
            # A parent who asked for post gets November's summary as a letter, for the print run.
            school = f"{stack.url('notification')}/v1/schools/{urn}"
            deadline = time.monotonic() + 30
            while not (
                client.get(f"{school}/attendance-summaries").json()["periods"]
                and client.get(f"{school}/pupils/{upn}/contact-preferences").json()["contacts"]
            ):
                assert time.monotonic() < deadline, f"notification never saw the calendar and pupil of {urn}"
                time.sleep(0.2)
            by_post = {"preferences": [{"contact_index": 0, "channel": "post"}]}
            assert client.put(f"{school}/pupils/{upn}/contact-preferences", json=by_post).status_code == 200
            response = client.post(f"{school}/attendance-summaries", json={"period": "2026-11"})
            assert response.status_code == 201, response.text
            response = client.post(f"{school}/print-runs")
            assert response.status_code == 201, response.text
            print_runs[urn] = str(response.json()["id"])

        messages = {}
        deadline = time.monotonic() + 30
        for urn in (OWN_URN, OTHER_URN):
            url = f"{stack.url('notification')}/v1/schools/{urn}/notifications"
            while not (found := client.get(url).json()["items"]):
                assert time.monotonic() < deadline, f"notification never planned a message for {urn}"
                time.sleep(0.2)
            messages[urn] = str(found[0]["id"])

        returns = {}
        for la in (OWN_LA, OTHER_LA):
            body = {"kind": "attendance", "from": DAY, "to": DAY}
            response = client.post(f"{stack.url('la-returns')}/v1/las/{la}/returns", json=body)
            assert response.status_code == 201, response.text
            returns[la] = response.json()["id"]
        support = seed_support(stack, client)
        documents = {}
        for urn in (OWN_URN, OTHER_URN):
            body = {"kind": "governor-report", "on": DAY}
            response = client.post(f"{stack.url('la-returns')}/v1/schools/{urn}/reports", json=body)
            assert response.status_code == 201, response.text
            documents[urn] = response.json()["id"]
    yield Seeded(returns, reports, messages, leave, timetables, support, documents, print_runs)


def seed_support(stack: LocalStack, client: httpx.Client) -> dict[str, dict[str, str]]:
    """For a pupil of each school: a penalty-threshold flag as analytics publishes it (so a
    suggestion and a consideration), ten sessions of unauthorised absence in the register, and
    a support case at the formal stage (which an LA officer sees) with a plan, an attendance
    contract, an education supervision order and a penalty notice."""
    flags = [
        make_event(
            RiskFlagRaisedV1(
                school_urn=urn,
                la_code=la,
                upn=upn,
                flag="penalty_notice_threshold",
                academic_year=2026,
                possible_sessions=40,
                absent_sessions=10,
                overall_absence_rate=25.0,
                as_of=date.fromisoformat(DAY),
            ),
            source="/matrix",
            subject=pupil_key(urn, upn),
        )
        for urn, la, upn in ((OWN_URN, OWN_LA, OWN_PUPIL), (OTHER_URN, OTHER_LA, OTHER_PUPIL))
    ]
    asyncio.run(publish_events(stack.kafka, topics.RISK_FLAGS, flags))
    support, register = stack.url("support"), stack.url("register")
    seeded: dict[str, dict[str, str]] = {}
    truant_days = last_school_days(5)
    today = today_in_england().isoformat()
    deadline = time.monotonic() + 30
    for urn, upn in ((OWN_URN, OWN_PUPIL), (OTHER_URN, OTHER_PUPIL)):
        for day in truant_days:
            for session in ("am", "pm"):
                marks = {"marks": [{"upn": upn, "code": "O"}]}
                response = client.put(f"{register}/v1/schools/{urn}/registers/{day}/{session}", json=marks)
                assert response.status_code == 200, response.text
        while not (
            (found := client.get(f"{support}/v1/schools/{urn}/support-suggestions").json()["items"])
            and (due := client.get(f"{support}/v1/schools/{urn}/penalty-considerations").json()["items"])
        ):
            assert time.monotonic() < deadline, f"support-service never suggested a case at {urn}"
            time.sleep(0.2)
        seeded.setdefault("suggestion_id", {})[urn] = found[0]["id"]
        seeded.setdefault("consideration_id", {})[urn] = due[0]["id"]
        body = {"upn": upn, "lead": "Ms Reid", "reason": "matrix", "stage": "formalise_support"}
        while (response := client.post(f"{support}/v1/schools/{urn}/support-cases", json=body)).status_code != 201:
            assert time.monotonic() < deadline, response.text
            time.sleep(0.2)
        case = f"{support}/v1/schools/{urn}/support-cases/{response.json()['id']}"
        seeded.setdefault("case_id", {})[urn] = response.json()["id"]
        action = {
            "type": "home_visit",
            "what": "Home visit",
            "owner": "Ms Reid",
            "due_on": school_day_ahead().isoformat(),
        }
        parts = {
            "plan_id": ("plans", {"target_attendance_percent": 90, "actions": [action]}),
            "contract_id": (
                "attendance-contracts",
                {"agreed_with": ["Alex Taylor"], "agreed_on": today, "parent_requirements": ["on time"],
                 "support_offered": ["breakfast club"]},
            ),
            "order_id": ("supervision-orders", {"court_date": today, "made_on": today, "supervisor": "J. Patel"}),
            "penalty_id": (
                "penalty-notices",
                {"parent_name": "Alex Taylor", "issued_on": today,
                 "sessions": [{"date": str(d), "session": s} for d in truant_days for s in ("am", "pm")]},
            ),
        }  # fmt: skip
        for name, (path, payload) in parts.items():
            response = client.post(f"{case}/{path}", json=payload)
            assert response.status_code == 201, response.text
            seeded.setdefault(name, {})[urn] = response.json()["id"]
    return seeded


def last_school_days(count: int) -> list[date]:
    """The last `count` school days before today, by the seeded calendar."""
    body = calendar_body()
    calendar = calendar_from_values(body["academic_year"], body["terms"], body["closures"])
    day, found = today_in_england(), []
    while len(found) < count:
        day -= timedelta(days=1)
        if calendar.is_school_day(day):
            found.append(day)
    return found


def path_values(variant: str, seeded: Seeded) -> dict[str, str]:
    own = {
        "urn": OWN_URN,
        "upn": OWN_PUPIL,
        "la_code": OWN_LA,
        "trust_id": OWN_TRUST,
        "return_id": seeded.returns[OWN_LA],
        "report_id": seeded.reports[OWN_URN],
        "message_id": seeded.messages[OWN_URN],
        "request_id": seeded.leave[OWN_PUPIL],
        "timetable_id": seeded.timetables[OWN_PUPIL],
        "document_id": seeded.documents[OWN_URN],
        "run_id": seeded.print_runs[OWN_URN],
        **{name: ids[OWN_URN] for name, ids in seeded.support.items()},
    }
    if variant == "own":
        return own
    if variant == "other pupil, same school":
        # The sibling's own objects: a parent of the first child must not reach them.
        return {**own, "upn": SIBLING, "request_id": seeded.leave[SIBLING], "timetable_id": seeded.timetables[SIBLING]}
    return {
        "urn": OTHER_URN,
        "upn": OTHER_PUPIL,
        "la_code": OTHER_LA,
        "trust_id": OTHER_TRUST,
        "return_id": seeded.returns[OTHER_LA],
        "report_id": seeded.reports[OTHER_URN],
        "message_id": seeded.messages[OTHER_URN],
        "request_id": seeded.leave[OTHER_PUPIL],
        "timetable_id": seeded.timetables[OTHER_PUPIL],
        "document_id": seeded.documents[OTHER_URN],
        "run_id": seeded.print_runs[OTHER_URN],
        **{name: ids[OTHER_URN] for name, ids in seeded.support.items()},
    }


def variants_for(route: Endpoint) -> list[str]:
    if route.rule is not None and route.rule.scope in (Scope.BODY, Scope.PLATFORM):
        return ["own"]  # the objects are in the body (see the bulk test below), or are everyone's
    variants = ["own", "someone else's"]
    if "{upn}" in route.path:
        variants.append("other pupil, same school")
    return variants


def expected(rule: Access, role: Role, variant: str) -> str:
    if role not in rule.roles:
        return "403"
    if role in UNRESTRICTED_ROLES or variant == "own":
        return "allowed"
    if variant == "other pupil, same school":
        return "404" if role in PUPIL_ROLES else "allowed"
    return "404"


def outcome(status: int) -> str:
    if status in (401, 403, 404, 429) or status >= 500:
        return str(status)
    return "allowed"


def call(stack: LocalStack, service: str, route: Endpoint, values: dict[str, str], headers: dict) -> httpx.Response:
    path = route.path.format(day=DAY, session_name="am", **values)
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    return httpx.request(route.method, stack.url(service) + path, json=body, headers=headers, timeout=30)


def ids(routes: list[tuple[str, Endpoint]]) -> list[str]:
    return [f"{service} {route.method} {route.path}" for service, route in routes]


@pytest.mark.parametrize(("service", "route"), ALL_ROUTES, ids=ids(ALL_ROUTES))
def test_every_route_declares_who_may_call_it(service: str, route: Endpoint) -> None:
    if route.path in PUBLIC_PATHS:
        assert route.rule is None, "a public path must not also declare a rule"
        return
    assert route.rule is not None, f"{route.path} has no Access rule: add one with attendance_shared.access.allow"
    needs = {
        Scope.SCHOOL: ("{urn}",),
        Scope.PUPIL: ("{urn}", "{upn}"),
        Scope.LA: ("{la_code}",),
        Scope.TRUST: ("{trust_id}",),
        Scope.BODY: (),
        Scope.PLATFORM: (),
    }[route.rule.scope]
    assert all(part in route.path for part in needs), f"a {route.rule.scope} rule needs {needs} in the path"


@pytest.mark.parametrize(("service", "route"), PROTECTED, ids=ids(PROTECTED))
def test_authorisation_matrix(stack: LocalStack, seeded: Seeded, service: str, route: Endpoint) -> None:
    rule = route.rule
    assert rule is not None
    assert call(stack, service, route, path_values("own", seeded), {}).status_code == 401
    forged = {"Authorization": "Bearer " + bearer(Role.ADMIN)["Authorization"].split()[1][:-4] + "AAAA"}
    assert call(stack, service, route, path_values("own", seeded), forged).status_code == 401

    mismatches, table = [], []
    for role in Role:
        headers = bearer(role, subject=f"matrix-{role.value}-{uuid.uuid4().hex[:6]}", **SCOPE_HELD[role])
        for variant in variants_for(route):
            response = call(stack, service, route, path_values(variant, seeded), headers)
            want, got = expected(rule, role, variant), outcome(response.status_code)
            table.append(f"{role.value:>13} | {variant:<24} | want {want:<7} | got {response.status_code}")
            if want != got:
                mismatches.append(table[-1] + f" {response.text[:200]}")
    print(f"\n{service} {route.method} {route.path}\n" + "\n".join(table))
    assert not mismatches, "\n".join(mismatches)


def test_a_return_id_of_another_la_is_not_found_under_your_own_la_code(stack: LocalStack, seeded: Seeded) -> None:
    la = bearer(Role.LA, la_code=OWN_LA)
    url = f"{stack.url('la-returns')}/v1/las/{OWN_LA}/returns/{seeded.returns[OTHER_LA]}"
    assert httpx.get(url, headers=la).status_code == 404
    assert httpx.get(url.replace(seeded.returns[OTHER_LA], seeded.returns[OWN_LA]), headers=la).status_code == 200


def test_a_parent_sees_their_own_child_but_not_a_classmate(stack: LocalStack, seeded: Seeded) -> None:
    parent = bearer(Role.PARENT, pupils=[pupil_scope_key(OWN_URN, OWN_PUPIL)])
    register = stack.url("register")
    own = httpx.get(f"{register}/v1/schools/{OWN_URN}/pupils/{OWN_PUPIL}", headers=parent)
    assert own.status_code == 200 and own.json()["upn"] == OWN_PUPIL
    classmate = httpx.get(f"{register}/v1/schools/{OWN_URN}/pupils/{SIBLING}", headers=parent)
    unknown = httpx.get(f"{register}/v1/schools/{OWN_URN}/pupils/{make_upn(la_code=OWN_LA, serial=9)}", headers=parent)
    assert classmate.status_code == unknown.status_code == 404
    assert classmate.json()["title"] == unknown.json()["title"]  # nothing tells a classmate from no one


def test_parent_facing_endpoints_limit_each_token_and_say_when_to_retry(stack: LocalStack, seeded: Seeded) -> None:
    burst = CommonSettings().parent_rate_burst
    parent = bearer(Role.PARENT, subject="eager-parent", pupils=[pupil_scope_key(OWN_URN, OWN_PUPIL)])
    url = f"{stack.url('register')}/v1/schools/{OWN_URN}/pupils/{OWN_PUPIL}"
    with httpx.Client(headers=parent) as client:
        statuses = [client.get(url).status_code for _ in range(burst + 5)]
        limited = client.get(url)
    assert statuses[:burst] == [200] * burst and 429 in statuses[burst:]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.headers["content-type"] == "application/problem+json"
    other_parent = bearer(Role.PARENT, subject="calm-parent", pupils=[pupil_scope_key(OWN_URN, OWN_PUPIL)])
    assert httpx.get(url, headers=other_parent).status_code == 200  # the limit is per token


def test_a_body_over_the_size_limit_is_refused_before_it_is_stored(stack: LocalStack, seeded: Seeded) -> None:
    limit = CommonSettings().max_request_body_bytes
    url = f"{stack.url('register')}/v1/schools/{OWN_URN}/pupils"
    padded = pupil_body(make_upn(la_code=OWN_LA, serial=50), forename="x" * (limit + 1))
    response = httpx.post(url, json=padded, headers=ADMIN, timeout=30)
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        yield b'{"upn": "' + b"x" * limit
        yield b'"}'

    chunked = httpx.post(url, content=chunks(), headers={**ADMIN, "Content-Type": "application/json"}, timeout=30)
    assert chunked.status_code == 413
    listed = httpx.get(url, headers=ADMIN).json()["items"]
    assert {p["upn"] for p in listed} == {OWN_PUPIL, SIBLING}


def test_a_bulk_register_naming_a_school_outside_the_token_is_refused_whole(stack: LocalStack, seeded: Seeded) -> None:
    mis = bearer(Role.MIS, schools=[OWN_URN])
    day = "2026-11-17"
    body = {
        "registers": [
            {"urn": OWN_URN, "date": day, "session": "am", "marks": [{"upn": OWN_PUPIL, "code": "/"}]},
            {"urn": OTHER_URN, "date": day, "session": "am", "marks": [{"upn": OTHER_PUPIL, "code": "/"}]},
        ]
    }
    response = httpx.put(f"{stack.url('register')}/v1/registers", json=body, headers=mis)
    assert response.status_code == 404
    stored = httpx.get(f"{stack.url('register')}/v1/schools/{OWN_URN}/registers/{day}/am", headers=mis).json()
    assert stored["marks"] == []
