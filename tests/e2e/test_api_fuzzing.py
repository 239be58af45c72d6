"""Schemathesis against each service's own OpenAPI schema, over HTTP to the running stack, with
a valid admin token (the widest scope, so generated input reaches the handlers): no 5xx for any
input, every response documented and matching its schema, invalid input refused with a 4xx,
and no operation answering without a token.

Half the valid requests name real objects (`real_objects`), so they reach the logic behind a
route, not its 404. Examples are derandomised so CI is repeatable; CI runs 40 an operation
(to keep the whole run under its 30 minutes), and `FUZZ_EXAMPLES=500 make test` digs deeper.
(Schemathesis' own pytest loader does not run on pytest 9.2, so each operation's strategy is
driven with Hypothesis here directly.)
"""

import os
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from attendance_shared.auth import Role
from attendance_stack import LocalStack
from tests.factories import calendar_body, make_upn, pupil_body, school_body, school_day_ahead
from tests.helpers import bearer

pytestmark = pytest.mark.e2e

ADMIN = bearer(Role.ADMIN, subject="schemathesis")
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.ignored_auth,
]
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


URN, LA_CODE, DAY = "100001", "201", "2026-11-02"
UPNS = [make_upn(serial=600 + i) for i in range(5)]


@pytest.fixture(scope="module")
def real_objects(stack: LocalStack) -> dict[str, str]:
    """A school with a calendar, pupils, a register taken, an absence reported, leave asked for,
    a part-time timetable and a support case: the path
    parameters a generated request may name, so that it reaches the logic behind a route
    rather than its 404."""
    with httpx.Client(base_url=stack.url("register"), headers=ADMIN, timeout=30) as register:
        for response in (
            register.put(f"/v1/schools/{URN}", json=school_body(la_code=LA_CODE)),
            register.put(f"/v1/schools/{URN}/calendar", json=calendar_body()),
            register.post(f"/v1/schools/{URN}/admissions", json={"pupils": [pupil_body(u) for u in UPNS]}),
            register.put(
                f"/v1/schools/{URN}/registers/{DAY}/am", json={"marks": [{"upn": u, "code": "N"} for u in UPNS]}
            ),
        ):
            assert response.status_code < 300, response.text
        report = register.post(
            f"/v1/schools/{URN}/pupils/{UPNS[0]}/absence-reports",
            json={"first_day": DAY, "last_day": DAY, "reason": "ill with a cold"},
        )
        assert report.status_code == 201, report.text
        ahead = school_day_ahead().isoformat()
        leave = register.post(
            f"/v1/schools/{URN}/pupils/{UPNS[0]}/leave-requests",
            json={"first_day": ahead, "last_day": ahead, "reason": "interview"},
        )
        assert leave.status_code == 201, leave.text
        timetable = register.post(
            f"/v1/schools/{URN}/pupils/{UPNS[0]}/part-time-timetables",
            json={"reason": "reintegration", "attended_sessions": ["mon_am", "tue_am"], "start_date": ahead},
        )
        assert timetable.status_code == 201, timetable.text
    with httpx.Client(base_url=stack.url("support"), headers=ADMIN, timeout=30) as support:
        body = {"upn": UPNS[1], "lead": "Ms Reid", "reason": "fuzzing"}
        deadline = time.monotonic() + 30
        while (case := support.post(f"/v1/schools/{URN}/support-cases", json=body)).status_code != 201:
            assert time.monotonic() < deadline, case.text  # until the pupils reach support-service
            time.sleep(0.2)
        action = {"type": "mentoring", "what": "Weekly mentor", "owner": "Mr Hale", "due_on": ahead}
        plan = support.post(
            f"/v1/schools/{URN}/support-cases/{case.json()['id']}/plans",
            json={"target_attendance_percent": 95, "actions": [action]},
        )
        assert plan.status_code == 201, plan.text
    return {
        "urn": URN,
        "la_code": LA_CODE,
        "upn": UPNS[0],
        "day": DAY,
        "session_name": "am",
        "report_id": report.json()["id"],
        "request_id": leave.json()["id"],
        "timetable_id": timetable.json()["id"],
        "case_id": case.json()["id"],
        "plan_id": plan.json()["id"],
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("service", ["register", "analytics", "notification", "la-returns", "support"])
def test_no_generated_request_breaks_the_api(
    stack: LocalStack, real_objects: dict[str, str], service: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.url(service)}/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode), name_real_objects=st.booleans())
        @FUZZ
        def fuzz(case, name_real_objects: bool) -> None:
            # Half the valid requests name a school, pupil, register and report that exist. (An
            # invalid request keeps its generated path: its invalid part may be there.)
            if mode is GenerationMode.POSITIVE and name_real_objects:
                for name in case.path_parameters or {}:
                    if name in real_objects:
                        case.path_parameters[name] = real_objects[name]
            # A generated case carries some Authorization header unless leaving it out is the
            # invalid part under test; only then does the request go without the real token.
            headers = ADMIN if "Authorization" in (case.headers or {}) else {}
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, "only an operation without inputs has no invalid request"
        except Exception as failure:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures[f"{operation.method.upper()} {operation.path}"] = str(failure)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
