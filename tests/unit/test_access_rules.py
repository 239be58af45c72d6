"""Tokens, scopes and limits as pure rules: no server, no database."""

import time

import httpx
import jwt
import pytest
from pydantic import TypeAdapter, ValidationError

from attendance_shared.access import Access, Scope
from attendance_shared.api_types import IsoDate, LocalTime
from attendance_shared.auth import (
    PUPIL_ROLES,
    UNRESTRICTED_ROLES,
    Actor,
    Role,
    ServiceTokenAuth,
    TokenVerifier,
    mint_token,
    pupil_scope_key,
)
from attendance_shared.errors import NotFound, Unauthorised
from attendance_shared.limits import TokenBucketLimiter
from attendance_shared.settings import DEVELOPMENT_JWT_SECRET, CommonSettings

SETTINGS = CommonSettings()


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base = {"sub": "someone", "role": "staff", "iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience}
    return {**base, "iat": now, "nbf": now, "exp": now + 600, "schools": ["100001"], **overrides}


async def verify(token: str, settings: CommonSettings = SETTINGS) -> Actor:
    verifier = TokenVerifier(settings)
    try:
        return await verifier.verify(token)
    finally:
        await verifier.close()


async def test_a_minted_development_token_names_the_caller_and_their_scope() -> None:
    token = mint_token(SETTINGS, subject="kim", role=Role.LA, la_code="201")
    actor = await verify(token)
    assert (actor.subject, actor.role, actor.la_code) == ("kim", Role.LA, "201")
    assert (
        actor.token_id and actor.token_id != (await verify(mint_token(SETTINGS, subject="jo", role=Role.LA))).token_id
    )


@pytest.mark.parametrize(
    "bad",
    [
        lambda: claims(exp=int(time.time()) - 120),  # expired beyond the clock skew
        lambda: claims(nbf=int(time.time()) + 120),  # not valid yet
        lambda: claims(aud="someone-else"),
        lambda: claims(iss="someone-else"),
        lambda: claims(role="headteacher"),
        lambda: {k: v for k, v in claims().items() if k != "exp"},
    ],
    ids=["expired", "not-before", "audience", "issuer", "unknown-role", "no-expiry"],
)
async def test_a_token_that_fails_any_check_is_refused(bad) -> None:
    with pytest.raises(Unauthorised):
        await verify(jwt.encode(bad(), DEVELOPMENT_JWT_SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"exp": 10**20}, "lives longer"),
        ({"exp": 1e300}, "lives longer"),
        ({"exp": str(2**40)}, "number of seconds"),  # not expired, and PyJWT reads it as a number
        ({"exp": True}, "invalid bearer token"),
        ({"iat": "now"}, "invalid bearer token"),
        ({"exp": int(time.time()) + 25 * 3600}, "lives longer"),
        ({"iat": int(time.time()) - 30 * 3600, "nbf": int(time.time()) - 30 * 3600}, "lives longer"),
        ({"sub": 42}, "invalid bearer token"),
        ({"sub": "x" * 256}, "`sub`"),
        ({"schools": "100001"}, "`schools`"),
        ({"schools": [1, 2]}, "`schools`"),
        ({"pupils": ["100001:A123456789012"] * 5001}, "`pupils`"),
        ({"role": "la", "la": "not-a-code"}, "`la`"),
    ],
    ids=[
        "exp-1e20",
        "exp-1e300",
        "exp-a-string",
        "exp-a-boolean",
        "iat-a-string",
        "a-day-and-more",
        "issued-long-ago",
        "sub-a-number",
        "sub-too-long",
        "schools-a-string",
        "schools-numbers",
        "pupils-too-many",
        "la-malformed",
    ],
)
async def test_a_token_with_a_malformed_claim_or_too_long_a_life_is_refused(overrides: dict, why: str) -> None:
    with pytest.raises(Unauthorised, match=why):
        await verify(jwt.encode(claims(**overrides), DEVELOPMENT_JWT_SECRET, algorithm="HS256"))


async def test_people_may_hold_a_token_for_a_day_and_services_for_an_hour() -> None:
    now = int(time.time())
    day = claims(iat=now, nbf=now, exp=now + 24 * 3600)
    assert (await verify(jwt.encode(day, DEVELOPMENT_JWT_SECRET, algorithm="HS256"))).subject == "someone"
    with pytest.raises(Unauthorised, match="lives longer"):
        await verify(jwt.encode(day | {"role": "service"}, DEVELOPMENT_JWT_SECRET, algorithm="HS256"))
    hour = claims(role="service", iat=now, nbf=now, exp=now + 3600)
    assert (await verify(jwt.encode(hour, DEVELOPMENT_JWT_SECRET, algorithm="HS256"))).role is Role.SERVICE
    shorter = CommonSettings(max_token_lifetime_s=3600)
    with pytest.raises(Unauthorised, match="lives longer"):
        await verify(jwt.encode(day, DEVELOPMENT_JWT_SECRET, algorithm="HS256"), shorter)


def test_a_service_mints_itself_a_fresh_short_token_before_the_last_expires() -> None:
    auth = ServiceTokenAuth(SETTINGS, "la-returns-service", ttl_s=300)
    request = next(auth.auth_flow(httpx.Request("GET", "http://analytics/v1/x")))
    token = request.headers["Authorization"].removeprefix("Bearer ")
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert (decoded["role"], decoded["exp"] - decoded["iat"]) == ("service", 300)
    again = next(auth.auth_flow(httpx.Request("GET", "http://analytics/v1/x")))
    assert again.headers["Authorization"] == request.headers["Authorization"]  # still fresh: reused


async def test_a_small_clock_skew_is_forgiven() -> None:
    skewed = claims(nbf=int(time.time()) + 10, iat=int(time.time()) + 10)
    assert (await verify(jwt.encode(skewed, DEVELOPMENT_JWT_SECRET, algorithm="HS256"))).subject == "someone"


async def test_unsigned_tokens_and_other_secrets_are_refused() -> None:
    with pytest.raises(Unauthorised):
        await verify(jwt.encode(claims(), None, algorithm="none"))
    with pytest.raises(Unauthorised):
        await verify(jwt.encode(claims(), "another-secret-of-enough-length-0123456789", algorithm="HS256"))
    with pytest.raises(Unauthorised):
        await verify("not a token")


async def test_with_an_identity_provider_only_service_tokens_may_use_the_shared_secret() -> None:
    settings = CommonSettings(jwks_url="http://127.0.0.1:9/jwks.json")
    with pytest.raises(Unauthorised, match="RS256"):
        await verify(mint_token(settings, subject="kim", role=Role.ADMIN), settings)
    service = await verify(mint_token(settings, subject="la-returns", role=Role.SERVICE), settings)
    assert service.role is Role.SERVICE


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="AUTH_JWT_SECRET"):
        CommonSettings(environment="production")


def test_parents_and_social_workers_see_only_the_children_their_token_names() -> None:
    parent = Actor("p", Role.PARENT, pupils=frozenset({pupil_scope_key("100001", "A123456789012")}))
    parent.require_pupil("100001", "A123456789012")
    for urn, upn in (("100001", "B123456789012"), ("100002", "A123456789012")):
        with pytest.raises(NotFound):
            parent.require_pupil(urn, upn)
    with pytest.raises(NotFound):
        parent.require_school("100001")  # a child's school is not the parent's to browse


def test_an_la_sees_a_school_only_when_it_knows_the_school_is_theirs() -> None:
    la = Actor("o", Role.LA, la_code="201")
    la.require_school("100001", la_code="201")
    for la_code in ("202", None):
        with pytest.raises(NotFound):
            la.require_school("100001", la_code=la_code)


def test_a_rule_cannot_give_a_parent_a_whole_school_or_la() -> None:
    for scope in (Scope.SCHOOL, Scope.LA):
        with pytest.raises(ValueError, match="one pupil"):
            Access(frozenset({Role.STAFF, Role.PARENT}), scope)
    assert Access(frozenset({Role.PARENT}), Scope.PUPIL).parent_facing


def test_the_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    limiter = TokenBucketLimiter(per_minute=60, burst=3)
    assert [limiter.take("t", 0.0) for _ in range(3)] == [None, None, None]
    wait = limiter.take("t", 0.0)
    assert wait == pytest.approx(1.0)
    assert limiter.retry_after_header(wait) == 1
    assert limiter.take("t", 0.5) == pytest.approx(0.5)
    assert limiter.take("t", 1.0) is None  # one request a second refills
    assert limiter.take("other", 1.0) is None  # per token


def test_the_limiter_forgets_full_buckets_to_stay_small() -> None:
    limiter = TokenBucketLimiter(per_minute=60, burst=2, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.take(key, 0.0)
    limiter.take("d", 10.0)  # a, b and c have refilled by now
    assert set(limiter._buckets) == {"d"}


@pytest.mark.parametrize("value", ["2026-09-07", "2024-02-29"])
def test_dates_are_taken_as_written(value: str) -> None:
    assert TypeAdapter(IsoDate).validate_python(value).isoformat() == value


@pytest.mark.parametrize("value", [0, 1.5e3, "0", "7.1e-178", "2026-9-7", "07/09/2026", "2026-02-30"])
def test_anything_but_a_real_yyyy_mm_dd_date_is_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(IsoDate).validate_python(value)


def test_clock_times_are_hh_mm() -> None:
    assert TypeAdapter(LocalTime).validate_python("08:45").isoformat() == "08:45:00"
    for bad in (3600, "8:45", "25:00", "08:45Z"):
        with pytest.raises(ValidationError):
            TypeAdapter(LocalTime).validate_python(bad)


def test_a_platform_wide_rule_is_only_for_the_roles_that_see_every_school() -> None:
    Access(frozenset({Role.ADMIN, Role.SERVICE}), Scope.PLATFORM)
    for role in set(Role) - UNRESTRICTED_ROLES - PUPIL_ROLES:
        with pytest.raises(ValueError, match="platform-wide"):
            Access(frozenset({Role.ADMIN, role}), Scope.PLATFORM)


async def test_a_trust_sees_the_schools_in_it_and_its_own_trust_only() -> None:
    actor = await verify(mint_token(SETTINGS, subject="ceo", role=Role.TRUST, trust_id="16474"))
    assert actor.trust_id == "16474"
    actor.require_school("100001", trust_id="16474")
    actor.require_trust("16474")
    for refused in (
        lambda: actor.require_school("100001", trust_id="20311"),
        lambda: actor.require_school("100001"),  # the school's trust is not known: not theirs
        lambda: actor.require_trust("20311"),
        lambda: actor.require_la("201"),
    ):
        with pytest.raises(NotFound):
            refused()
    with pytest.raises(Unauthorised):
        await verify(jwt.encode(claims(role="trust", trust="TR-16474"), DEVELOPMENT_JWT_SECRET, algorithm="HS256"))
