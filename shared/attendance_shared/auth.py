"""Bearer tokens (JWT, HS256 with a shared secret in development) and the caller they name.

Every endpoint states the roles that may call it and then checks the object: outside the
caller's scope is 404 (it does not exist for them), a role that may never call it is 403.
"""

import argparse
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from attendance_shared.errors import Forbidden, NotFound, Unauthorised
from attendance_shared.settings import CommonSettings

CLOCK_SKEW_S = 30


class Role(StrEnum):
    MIS = "mis"
    STAFF = "staff"
    PARENT = "parent"
    SOCIAL_WORKER = "social_worker"
    LA = "la"
    ADMIN = "admin"
    SERVICE = "service"  # another service of this platform calling for figures it does not hold


@dataclass(frozen=True, slots=True)
class Actor:
    subject: str
    role: Role
    schools: frozenset[str] = field(default_factory=frozenset)
    la_code: str | None = None
    pupils: frozenset[str] = field(default_factory=frozenset)

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role.value!r} may not call this endpoint")

    def require_school(self, urn: str, *, la_code: str | None = None) -> None:
        """School staff and MIS see their schools; an LA sees schools with its LA code."""
        if self.role in (Role.ADMIN, Role.SERVICE):
            return
        if self.role in (Role.MIS, Role.STAFF) and urn in self.schools:
            return
        if self.role is Role.LA and la_code is not None and la_code == self.la_code:
            return
        raise NotFound(f"school {urn} not found")

    def require_la(self, la_code: str) -> None:
        if self.role in (Role.ADMIN, Role.SERVICE) or (self.role is Role.LA and self.la_code == la_code):
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
    ttl_s: int = 12 * 3600,
) -> str:
    now = int(time.time())
    claims = {
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
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def decode_token(settings: CommonSettings, token: str) -> Actor:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=CLOCK_SKEW_S,
            options={"require": ["exp", "nbf", "sub", "iss", "aud"]},
        )
        return Actor(
            subject=claims["sub"],
            role=Role(claims["role"]),
            schools=frozenset(claims.get("schools", [])),
            la_code=claims.get("la"),
            pupils=frozenset(claims.get("pupils", [])),
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Unauthorised(f"invalid bearer token: {exc}") from None


_bearer = HTTPBearer(auto_error=False)


async def current_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    if credentials is None:
        raise Unauthorised("a bearer token is required")
    return decode_token(request.app.state.settings, credentials.credentials)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def _split(values: str) -> list[str]:
    return [v for v in values.split(",") if v]


def main() -> None:
    """`make token`: print a development token the local stack accepts."""
    parser = argparse.ArgumentParser(description="Mint a development bearer token.")
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--schools", default="", help="comma-separated URNs (mis, staff)")
    parser.add_argument("--la", default=None, help="LA code (la)")
    parser.add_argument("--pupils", default="", help="comma-separated URN:UPN keys (parent, social_worker)")
    parser.add_argument("--subject", default="developer")
    parser.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")
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
        )
    )


if __name__ == "__main__":
    main()
