"""Bearer tokens and the caller they name.

Development and internal service-to-service tokens are HS256 with the platform's shared
secret. In production people's tokens come from an identity provider and are RS256, verified
against the keys at `AUTH_JWKS_URL`; once that is set, an HS256 token is accepted only for the
`service` role, so a leaked development token can never act as a person.

What each endpoint lets each caller do is declared in `attendance_shared.access`.
"""

import argparse
import asyncio
import hashlib
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from attendance_shared.errors import NotFound, Unauthorised, UpstreamUnavailable
from attendance_shared.rules.identifiers import LA_CODE_PATTERN, TRUST_ID_PATTERN
from attendance_shared.settings import CommonSettings

CLOCK_SKEW_S = 30
REQUIRED_CLAIMS = ["exp", "nbf", "sub", "iss", "aud"]


class Role(StrEnum):
    MIS = "mis"
    STAFF = "staff"
    PARENT = "parent"
    SOCIAL_WORKER = "social_worker"
    LA = "la"
    TRUST = "trust"  # a multi-academy trust's or federation's officers: its schools' figures
    ADMIN = "admin"
    SERVICE = "service"  # another service of this platform calling for figures it does not hold


# Roles whose scope is every object: no URN, LA or pupil list narrows them.
UNRESTRICTED_ROLES = frozenset({Role.ADMIN, Role.SERVICE})
SCHOOL_ROLES = frozenset({Role.MIS, Role.STAFF})
PUPIL_ROLES = frozenset({Role.PARENT, Role.SOCIAL_WORKER})


def pupil_scope_key(urn: str, upn: str) -> str:
    """How a parent's or social worker's token names a child: `URN:UPN`."""
    return f"{urn}:{upn}"


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    role: Role
    schools: frozenset[str] = field(default_factory=frozenset)
    la_code: str | None = None
    pupils: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""  # the token's `jti`, or a digest of it: the key for per-token limits
    trust_id: str | None = None

    def require_school(self, urn: str, *, la_code: str | None = None, trust_id: str | None = None) -> None:
        """Staff and MIS see their schools; an LA sees schools with its LA code; a trust sees
        the schools in it now."""
        if self.role in UNRESTRICTED_ROLES:
            return
        if self.role in SCHOOL_ROLES and urn in self.schools:
            return
        if self.role is Role.LA and la_code is not None and la_code == self.la_code:
            return
        if self.role is Role.TRUST and trust_id is not None and trust_id == self.trust_id:
            return
        raise NotFound(f"school {urn} not found")

    def require_pupil(self, urn: str, upn: str, *, la_code: str | None = None, trust_id: str | None = None) -> None:
        """A parent or social worker sees only the children their token names."""
        if self.role in PUPIL_ROLES:
            if pupil_scope_key(urn, upn) not in self.pupils:
                raise NotFound(f"pupil {upn} not found at school {urn}")
            return
        self.require_school(urn, la_code=la_code, trust_id=trust_id)

    def require_trust(self, trust_id: str) -> None:
        if self.role in UNRESTRICTED_ROLES or (self.role is Role.TRUST and self.trust_id == trust_id):
            return
        raise NotFound(f"trust {trust_id} not found")

    def require_la(self, la_code: str) -> None:
        if self.role in UNRESTRICTED_ROLES or (self.role is Role.LA and self.la_code == la_code):
            return
        raise NotFound(f"local authority {la_code} not found")


def mint_token(
    settings: CommonSettings,
    *,
    subject: str,
    role: Role,
    schools: list[str] | None = None,
    la_code: str | None = None,
    pupils: list[str] | None = None,
    ttl_s: int | None = None,
    trust_id: str | None = None,
) -> str:
    """An HS256 token signed with the shared secret: development, tests and service calls.
    It lives `ttl_s`, by default 12 hours for a person and the longest allowed for a service."""
    now = int(time.time())
    if ttl_s is None:
        ttl_s = settings.max_service_token_lifetime_s if role is Role.SERVICE else 12 * 3600
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "schools": schools or [],
        "pupils": pupils or [],
    }
    if la_code:
        claims["la"] = la_code
    if trust_id:
        claims["trust"] = trust_id
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


# Claims that name a list of objects: far more than any real caller's, far fewer than would
# make a token a way to send the service work.
MAX_SCOPE_ENTRIES = 5000
MAX_CLAIM_CHARS = 255
_NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """RFC 7519's NumericDate: a JSON number of seconds. PyJWT reads `"exp": "1e9"` and
    `"exp": 1e300` as numbers; both are malformed here."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Unauthorised(f"invalid bearer token: `{name}` must be a number of seconds")
    return float(value)


def check_claims(claims: dict[str, Any], *, max_lifetime_s: float, now: float | None = None) -> None:
    """Refuse a token whose claims are malformed, or that lives longer than `max_lifetime_s`
    from when it was issued (or became valid), or from now: a leaked token must expire."""
    now = time.time() if now is None else now
    dates = {name: _numeric_date(claims, name) for name in _NUMERIC_DATE_CLAIMS}
    expires = dates["exp"]
    if expires is None:
        raise Unauthorised("invalid bearer token: no `exp`")
    starts = min(d for d in (dates["iat"], dates["nbf"], now) if d is not None)
    if expires - starts > max_lifetime_s + CLOCK_SKEW_S:
        raise Unauthorised(f"the token lives longer than the {max_lifetime_s:.0f} s this platform accepts")
    for name in ("sub", "role", "la", "trust", "jti", "iss"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_CLAIM_CHARS):
            raise Unauthorised(f"invalid bearer token: `{name}` must be a string of 1 to {MAX_CLAIM_CHARS} characters")
    if claims.get("la") is not None and not re.fullmatch(LA_CODE_PATTERN, claims["la"]):
        raise Unauthorised("invalid bearer token: `la` is not an LA code")
    if claims.get("trust") is not None and not re.fullmatch(TRUST_ID_PATTERN, claims["trust"]):
        raise Unauthorised("invalid bearer token: `trust` is not a trust's GIAS group UID")
    for name in ("schools", "pupils"):
        values = claims.get(name) or []
        if (
            not isinstance(values, list)
            or len(values) > MAX_SCOPE_ENTRIES
            or not all(isinstance(v, str) and 0 < len(v) <= MAX_CLAIM_CHARS for v in values)
        ):
            raise Unauthorised(f"invalid bearer token: `{name}` must be a list of at most {MAX_SCOPE_ENTRIES} strings")


def actor_from_claims(claims: dict[str, Any], token: str) -> Actor:
    return Actor(
        subject=str(claims["sub"]),
        role=Role(claims["role"]),
        schools=frozenset(str(s) for s in claims.get("schools") or []),
        la_code=claims.get("la"),
        pupils=frozenset(str(p) for p in claims.get("pupils") or []),
        token_id=str(claims.get("jti") or hashlib.sha256(token.encode()).hexdigest()[:32]),
        trust_id=claims.get("trust"),
    )


class JwksKeys:
    """The identity provider's signing keys, fetched over HTTP and cached. An unknown `kid`
    (the provider rotated its keys) refetches, but at most once per `min_refetch_s`."""

    def __init__(self, url: str, *, cache_s: float = 300, min_refetch_s: float = 30, timeout_s: float = 5) -> None:
        self._url = url
        self._cache_s = cache_s
        self._min_refetch_s = min_refetch_s
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._client.aclose()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        if kid is None:
            raise Unauthorised("the token names no signing key (kid)")
        age = time.monotonic() - self._fetched_at
        if age > self._cache_s or (kid not in self._keys and age > self._min_refetch_s):
            await self._refresh()
        if (found := self._keys.get(kid)) is None:
            raise Unauthorised("the token is signed with a key the identity provider does not publish")
        return found

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                response = await self._client.get(self._url)
                response.raise_for_status()
                key_set = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, jwt.PyJWTError, ValueError) as exc:
                if not self._keys:
                    raise UpstreamUnavailable(f"the identity provider's keys are unavailable: {exc}") from None
                return  # keep verifying with the keys we have until the provider is back
            self._keys = {k.key_id: k for k in key_set.keys if k.key_id}
            self._fetched_at = time.monotonic()


class TokenVerifier:
    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings
        self._jwks = JwksKeys(settings.jwks_url) if settings.jwks_url else None

    async def close(self) -> None:
        if self._jwks is not None:
            await self._jwks.close()

    def _max_lifetime_s(self, role: Role) -> float:
        if role is Role.SERVICE:
            return self._settings.max_service_token_lifetime_s
        return self._settings.max_token_lifetime_s

    async def verify(self, token: str) -> Actor:
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm == "RS256" and self._jwks is not None:
                key: Any = await self._jwks.key(header.get("kid"))
            elif algorithm == "HS256":
                key = self._settings.jwt_secret
            else:
                raise Unauthorised(f"tokens signed with {algorithm!r} are not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=CLOCK_SKEW_S,
                options={"require": REQUIRED_CLAIMS},
            )
            role = Role(claims.get("role"))
            check_claims(claims, max_lifetime_s=self._max_lifetime_s(role))
            actor = actor_from_claims(claims, token)
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorised(f"invalid bearer token: {exc}") from None
        if algorithm == "HS256" and self._jwks is not None and actor.role is not Role.SERVICE:
            raise Unauthorised("only the identity provider's RS256 tokens are accepted for people")
        return actor


class ServiceTokenAuth(httpx.Auth):
    """Bearer auth for one service calling another: a short-lived service token, minted again
    before it expires, so a long job (a rebuild) never needs a long-lived one."""

    def __init__(self, settings: CommonSettings, subject: str, *, ttl_s: int = 300) -> None:
        self._settings, self._subject, self._ttl_s = settings, subject, ttl_s
        self._token, self._expires = "", 0.0

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if time.monotonic() > self._expires - self._ttl_s / 5:
            self._token = mint_token(self._settings, subject=self._subject, role=Role.SERVICE, ttl_s=self._ttl_s)
            self._expires = time.monotonic() + self._ttl_s
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


_bearer = HTTPBearer(auto_error=False)


async def current_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    if credentials is None:
        raise Unauthorised("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def _split(values: str) -> list[str]:
    return [v for v in values.split(",") if v]


def main() -> None:
    """`make token`: print a development token the local stack accepts."""
    parser = argparse.ArgumentParser(description="Mint a development bearer token.")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--schools", default="", help="comma-separated URNs (mis, staff)")
    parser.add_argument("--la", default=None, help="LA code (la)")
    parser.add_argument("--trust", default=None, help="trust's GIAS group UID (trust)")
    parser.add_argument("--pupils", default="", help="comma-separated URN:UPN keys (parent, social_worker)")
    parser.add_argument("--subject", default="developer")
    parser.add_argument("--ttl", type=int, default=None, help="seconds (default 12 h; for a service, 1 h)")
    args = parser.parse_args()
    print(
        mint_token(
            CommonSettings(),
            subject=args.subject,
            role=Role(args.role),
            schools=_split(args.schools),
            la_code=args.la,
            pupils=_split(args.pupils),
            ttl_s=args.ttl,
            trust_id=args.trust,
        )
    )


if __name__ == "__main__":
    main()
