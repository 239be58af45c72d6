"""Schemathesis against each service's own OpenAPI schema, over HTTP to the running stack, with
a valid admin token (the widest scope, so generated input reaches the handlers): no 5xx for any
input, every response documented and matching its schema, invalid input refused with a 4xx,
and no operation answering without a token.

Examples are derandomised so CI is repeatable; `FUZZ_EXAMPLES=500 make test` digs deeper.
(Schemathesis' own pytest loader does not run on pytest 9.2, so each operation's strategy is
driven with Hypothesis here directly.)
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from attendance_shared.auth import Role
from attendance_stack import LocalStack
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
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 30)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("service", ["register", "analytics", "notification", "la-returns"])
def test_no_generated_request_breaks_the_api(stack: LocalStack, service: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.url(service)}/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @FUZZ
        def fuzz(case) -> None:
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
