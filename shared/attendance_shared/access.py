"""Who may call what. Every endpoint declares one `Access` rule as a dependency:

    actor: Annotated[Actor, allow(Role.MIS, Role.STAFF, scope=Scope.SCHOOL)]

The rule runs before the body is read or validated, in this order:
- no or bad token: 401;
- a role the rule does not name: 403 (the role may never call this endpoint);
- an object outside the caller's scope: 404, exactly as if it did not exist, so an id in
  the URL tells an outsider nothing;
- then, for a parent's token, the per-token rate limit: 429 with Retry-After. Parents are
  the one population of callers the platform does not contract with (many devices, apps
  that retry in a loop); MIS and staff are bounded by the bulk-row limits instead.

The authorisation matrix test walks every app's routes and fails on a route without a rule.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.auth import PUPIL_ROLES, UNRESTRICTED_ROLES, Actor, CurrentActor, Role
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_JSON, Forbidden, NotFound, TooManyRequests, Unprocessable
from attendance_shared.limits import TokenBucketLimiter

TOO_MANY_REQUESTS_RESPONSE = {
    "description": "Too many requests with this token; wait the seconds in Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
SchoolLaLookup = Callable[[AsyncSession, str], Awaitable[str | None]]
SchoolTrustLookup = Callable[[AsyncSession, str], Awaitable[str | None]]


class Scope(StrEnum):
    """Which path parameters name the object the caller must be allowed to see."""

    SCHOOL = "school"  # {urn}
    PUPIL = "pupil"  # {urn} and {upn}
    LA = "la"  # {la_code}
    TRUST = "trust"  # {trust_id}
    # The objects are named in the body (bulk writes across schools): the rule checks the
    # role, and the endpoint checks every object it names before storing anything.
    BODY = "body"
    # Nothing in the path: the whole platform's data (a service's event log). Only the roles
    # that see everything may be given it.
    PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class Access:
    roles: frozenset[Role]
    scope: Scope

    def __post_init__(self) -> None:
        if self.scope is not Scope.PUPIL and self.roles & PUPIL_ROLES:
            raise ValueError("parents and social workers may only be given endpoints about one pupil")
        if self.scope is Scope.PLATFORM and not self.roles <= UNRESTRICTED_ROLES:
            raise ValueError("only roles that see every school may be given a platform-wide endpoint")

    @property
    def parent_facing(self) -> bool:
        """Parents' apps call it, so parents' tokens are rate limited on it."""
        return Role.PARENT in self.roles

    async def __call__(self, request: Request, actor: CurrentActor, session: SessionDep) -> Actor:
        if actor.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"role {actor.role.value!r} may not call this endpoint (allowed: {allowed})")
        params = request.path_params
        if self.scope is Scope.LA:
            actor.require_la(params["la_code"])
        elif self.scope is Scope.TRUST:
            actor.require_trust(params["trust_id"])
        elif self.scope not in (Scope.BODY, Scope.PLATFORM):
            urn = params["urn"]
            la_code = await _school_la_code(request, session, urn) if actor.role is Role.LA else None
            trust_id = await _school_trust_id(request, session, urn) if actor.role is Role.TRUST else None
            if self.scope is Scope.PUPIL:
                actor.require_pupil(urn, params["upn"], la_code=la_code, trust_id=trust_id)
            else:
                actor.require_school(urn, la_code=la_code, trust_id=trust_id)
        _reject_unknown_query_parameters(request)
        if actor.role is Role.PARENT:
            limiter: TokenBucketLimiter = request.app.state.parent_rate_limiter
            wait_s = limiter.take(actor.token_id, time.monotonic())
            if wait_s is not None:
                raise TooManyRequests(
                    "too many requests with this token; try again later",
                    retry_after_s=limiter.retry_after_header(wait_s),
                )
        return actor


def _declared_query_names(dependant: Any) -> frozenset[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared_query_names(sub)
    return frozenset(names)


def _reject_unknown_query_parameters(request: Request) -> None:
    """A misspelt filter (`form=` for `from=`) must fail loudly, not be silently ignored."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    known = getattr(route, "_declared_query_names", None)
    if known is None:  # walked once per route, not on every request
        known = _declared_query_names(route.dependant)
        route._declared_query_names = known
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise Unprocessable(
            f"unknown query parameter(s): {', '.join(repr(n) for n in unknown)}",
            errors=[
                {"location": ["query", name], "message": "not a parameter of this endpoint", "type": "extra_forbidden"}
                for name in unknown
            ],
        )


async def _school_la_code(request: Request, session: AsyncSession, urn: str) -> str | None:
    lookup: SchoolLaLookup | None = getattr(request.app.state, "school_la_code", None)
    if lookup is None:
        raise NotFound(f"school {urn} not found")  # this service cannot tell an LA's schools
    return await lookup(session, urn)


async def _school_trust_id(request: Request, session: AsyncSession, urn: str) -> str | None:
    lookup: SchoolTrustLookup | None = getattr(request.app.state, "school_trust_id", None)
    if lookup is None:
        raise NotFound(f"school {urn} not found")  # this service does not know trusts
    return await lookup(session, urn)


def allow(*roles: Role, scope: Scope) -> Any:
    """The dependency that enforces an `Access` rule and yields the caller."""
    return Depends(Access(frozenset(roles), scope))


def access_rule_of(dependant: Any) -> Access | None:
    """The rule a route declared, found in its dependency tree (for the matrix test)."""
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            return dependency.call
        if (found := access_rule_of(dependency)) is not None:
            return found
    return None


def document_rate_limits(app: FastAPI) -> None:
    """Add the 429 answer to the OpenAPI of every endpoint a parent may call."""
    parent_facing = {
        (context.path, method.lower())
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and (rule := access_rule_of(context.dependant)) is not None
        and rule.parent_facing
        for method in context.methods
    }
    previous = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = previous()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if (path, method) in parent_facing:
                    operation.setdefault("responses", {})["429"] = TOO_MANY_REQUESTS_RESPONSE
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
