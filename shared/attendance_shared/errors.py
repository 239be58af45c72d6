"""Typed errors that carry their HTTP status, rendered once as problem+json (RFC 9457)."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from attendance_shared.db import is_transient, sqlstate_of

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Values PostgreSQL cannot store, which only a client sends: a NUL or untranslatable
# character, a string or number too long, a date out of range.
CLIENT_VALUE_SQLSTATES = frozenset({"22021", "22P05", "22001", "22003", "22008"})
# Seconds a client is asked to wait when the database went away under its request.
DATABASE_RETRY_AFTER_S = 1


class ProblemError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(
        self, detail: str, *, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class NotFound(ProblemError):
    status, title = 404, "Not found"


class Conflict(ProblemError):
    status, title = 409, "Conflict"


class Unprocessable(ProblemError):
    status, title = 422, "Unprocessable content"

    @classmethod
    def of_fields(cls, problems: Sequence[tuple[str, str]], *, detail: str | None = None) -> "Unprocessable":
        """Refused for every (field, message) at once; the detail is the first message unless given."""
        return cls(
            detail or problems[0][1], errors=[{"field": field, "message": message} for field, message in problems]
        )

    @classmethod
    def of_field(cls, field: str, message: str) -> "Unprocessable":
        return cls.of_fields([(field, message)])

    @classmethod
    def of_rows(cls, errors: Sequence[dict[str, Any]], *, total: int, what: str) -> "Unprocessable":
        """A bulk request refused whole: each error names its row's `index`; nothing was stored."""
        return cls(f"{len({e['index'] for e in errors})} of {total} {what}; nothing was stored", errors=list(errors))


class Unauthorised(ProblemError):
    status, title = 401, "Unauthorised"


class Forbidden(ProblemError):
    status, title = 403, "Forbidden"


class ContentTooLarge(ProblemError):
    status, title = 413, "Content too large"


class TooManyRequests(ProblemError):
    status, title = 429, "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


class UpstreamUnavailable(ProblemError):
    status, title = 503, "A service this request depends on is unavailable"


def problem_response(
    status: int,
    title: str,
    detail: str,
    instance: str,
    errors: list | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, title in (
        (400, "The body is not well-formed JSON"),
        (401, "No or invalid bearer token"),
        (403, "Your role may not call this endpoint"),
        (404, "Not found or outside your scope"),
        (413, "The request body is over the size limit"),
        (422, "Invalid input; `errors` names each bad field or row"),
        (503, "The database connection was lost or a write conflicted: retry after `Retry-After`"),
    )
}


def _database_away(request: Request, exc: Exception) -> JSONResponse:
    """The connection was lost or the transaction lost a conflict: it rolled back (or, at
    commit, its outcome is unknown), and the same request, with the same Idempotency-Key,
    can be sent again."""
    log.warning("database unavailable for a request: %r", exc)
    return problem_response(
        503,
        "Service unavailable",
        "the database connection was lost or the write conflicted with another; retry the request",
        request.url.path,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, request.url.path, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": list(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        return problem_response(422, "Unprocessable content", "the request does not validate", request.url.path, errors)

    @app.exception_handler(DBAPIError)
    async def _unstorable(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_transient(exc):
            return _database_away(request, exc)
        # PostgreSQL refusing a value the request carried (a NUL character in text, say);
        # the transaction rolled back, so nothing was stored. Anything else is our fault or
        # the database's, and stays a 500.
        sqlstate = sqlstate_of(exc)
        if sqlstate not in CLIENT_VALUE_SQLSTATES:
            raise exc
        log.warning("refused a value the database cannot store", extra={"sqlstate": sqlstate})
        detail = "the request holds a value that cannot be stored (for example a NUL character in text)"
        return problem_response(422, "Unprocessable content", detail, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)

    original_openapi = app.openapi

    def openapi_with_problem() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["title", "status", "detail"],
        }
        return schema

    app.openapi = openapi_with_problem  # type: ignore[method-assign]
