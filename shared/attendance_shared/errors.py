"""Typed errors that carry their HTTP status, rendered once as problem+json (RFC 9457)."""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from attendance_shared.db import UNIQUE_VIOLATION, is_transient, sqlstate_of
from attendance_shared.events import EventTooLarge

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# SQLSTATE class 22, "data exception": a value PostgreSQL (or the driver, which reports
# 22000) cannot store or encode: a NUL or a lone surrogate in text, a number out of range, a
# date beyond the calendar. Values are checked at the edge, by name; this is the net below.
CLIENT_VALUE_SQLSTATE_CLASS = "22"
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

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        # Like every 503 here, it says when to try again.
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


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
        (409, "The write conflicts with the record's state, or lost a race with another write: read and retry"),
        (413, "The request body is over the size limit"),
        (422, "Invalid input; `errors` names each bad field or row"),
        (503, "The database is unreachable or a write conflicted: retry after `Retry-After`"),
    )
}


def _database_away(request: Request, exc: BaseException) -> JSONResponse:
    """The database is unreachable, shutting down or busy, or the transaction lost a
    conflict: it rolled back (or, at commit, its outcome is unknown), and the same request,
    with the same Idempotency-Key, can be sent again."""
    log.warning("database unavailable for a request: %r", exc)
    return problem_response(
        503,
        "Service unavailable",
        "the database is unreachable or the write conflicted with another; retry the request",
        request.url.path,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _internal_error(request: Request, exc: BaseException) -> JSONResponse:
    log.error("request failed", exc_info=exc)
    return problem_response(
        500, "Internal server error", "the service failed on this request; it has been logged", request.url.path
    )


def database_error_response(request: Request, exc: Exception) -> JSONResponse:
    """What a failed database call (or a failed connection to the database) answers."""
    if is_transient(exc):
        return _database_away(request, exc)
    sqlstate = sqlstate_of(exc) if isinstance(exc, DBAPIError) else None
    if sqlstate == UNIQUE_VIOLATION:
        # Two writes raced for one key and this one lost; nothing of it was stored. Routes
        # that can race serialise their writes first, so this is the net under them.
        log.warning("a write lost a race on a unique key", extra={"path": request.url.path})
        return problem_response(
            409,
            "Conflict",
            "another write to the same record won a race with this one; nothing was stored: read it and retry",
            request.url.path,
        )
    if sqlstate is not None and sqlstate.startswith(CLIENT_VALUE_SQLSTATE_CLASS):
        log.warning("refused a value the database cannot store", extra={"sqlstate": sqlstate})
        detail = "the request holds a value that cannot be stored (a NUL character in text, a number out of range)"
        return problem_response(422, "Unprocessable content", detail, request.url.path)
    return _internal_error(request, exc)


# Everything the database or the network to it can raise: SQLAlchemy's wrapped driver errors,
# the driver's own while connecting, refused sockets, timeouts, an exhausted pool.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, request.url.path, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": list(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        return problem_response(422, "Unprocessable content", "the request does not validate", request.url.path, errors)

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        return database_error_response(request, exc)

    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _database)

    @app.exception_handler(EventTooLarge)
    async def _event_too_large(request: Request, exc: EventTooLarge) -> JSONResponse:
        return problem_response(422, "Unprocessable content", str(exc), request.url.path)

    @app.exception_handler(UnicodeError)
    async def _unencodable(request: Request, exc: UnicodeError) -> JSONResponse:
        # Text with a lone surrogate reached a codec: no store or event can hold it.
        log.warning("refused text that is not Unicode: %r", exc)
        detail = "the request holds text that is not valid Unicode (a lone surrogate)"
        return problem_response(422, "Unprocessable content", detail, request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Our fault, not the client's: a problem body all the same, and the trace in the log.
        return _internal_error(request, exc)

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
