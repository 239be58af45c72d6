"""What every service's app has: problem+json errors, /healthz, /readyz, /metrics, request
metrics, and background workers (relays, consumers) started and stopped with the lifespan."""

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attendance_shared.access import SchoolLaLookup, SchoolTrustLookup, document_rate_limits
from attendance_shared.auth import TokenVerifier
from attendance_shared.db import make_engine, make_sessionmaker
from attendance_shared.errors import install_problem_handlers
from attendance_shared.limits import BodySizeLimit, TokenBucketLimiter
from attendance_shared.logs import configure_logging
from attendance_shared.metrics import HTTP_REQUEST_SECONDS, WORKER_RESTARTS
from attendance_shared.migrations import migration_head
from attendance_shared.settings import CommonSettings
from attendance_shared.tracing import TraceMiddleware

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[tuple[bool, str]]]
# Routes anyone may call without a token (probes and scraping); every other route declares
# an `Access` rule, which the authorisation matrix test checks.
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)


class Worker(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


# A worker that failed this recently is reported not ready, so one failing again and again
# (a crash loop) shows on /readyz even though it is always being restarted.
RECENT_FAILURE_S = 60.0
MAX_RESTART_BACKOFF_S = 30.0


@dataclass
class Workers:
    """Long-running loops of a service. SIGTERM lets each finish its batch and commit.

    A worker that raises is logged, counted and started again after a backoff: a consumer
    that met something its code did not foresee must not stay stopped until the pod is
    restarted (and its own loop parks every bad record, so it never meets the same one)."""

    items: list[tuple[str, Worker]] = field(default_factory=list)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    last_failure: dict[str, tuple[float, str]] = field(default_factory=dict)
    stopping: bool = False

    def add(self, name: str, worker: Worker) -> None:
        self.items.append((name, worker))

    def start(self) -> None:
        for name, worker in self.items:
            self.tasks[name] = asyncio.create_task(self._supervise(name, worker), name=name)

    async def _supervise(self, name: str, worker: Worker) -> None:
        backoff = 1.0
        while True:
            try:
                await worker.run()
                return
            except Exception as exc:
                if self.stopping:
                    raise
                self.last_failure[name] = (time.monotonic(), repr(exc)[:200])
                WORKER_RESTARTS.labels(name).inc()
                log.exception("worker %s failed; starting it again in %.0f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_RESTART_BACKOFF_S)

    def failed(self) -> list[str]:
        """Workers not running, or that failed within the last minute, with why."""
        now = time.monotonic()
        stopped = [name for name, task in self.tasks.items() if task.done()]
        recent = [
            f"{name} failed {now - at:.0f}s ago ({why})"
            for name, (at, why) in self.last_failure.items()
            if now - at < RECENT_FAILURE_S and name not in stopped
        ]
        return stopped + recent

    async def stop(self, timeout_s: float = 20.0) -> None:
        self.stopping = True
        for _, worker in self.items:
            worker.stop()
        if not self.tasks:
            return
        done, pending = await asyncio.wait(self.tasks.values(), timeout=timeout_s)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception():
                log.error("worker %s ended with an error", task.get_name(), exc_info=task.exception())


class Periodic:
    """A housekeeping job run every `interval_s` in its own transaction; a failure is logged
    and retried next time, never fatal to the service."""

    def __init__(
        self,
        name: str,
        sessionmaker: "async_sessionmaker[AsyncSession]",
        job: Callable[[AsyncSession], Awaitable[object]],
        *,
        interval_s: float,
    ) -> None:
        self.name = name
        self._sessionmaker = sessionmaker
        self._job = job
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                async with self._sessionmaker.begin() as session:
                    result = await self._job(session)
                log.info("%s done", self.name, extra={"result": result})
            except Exception:
                log.exception("%s failed; will try again", self.name)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    def stop(self) -> None:
        self._stopping.set()


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    async def check() -> tuple[bool, str]:
        try:
            async with engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
            return True, "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return False, f"unreachable: {type(exc).__name__}"

    return check


def schema_check(engine: AsyncEngine, service: str) -> ReadinessCheck:
    """Ready only once the database holds this code's migration head: a pod that starts
    before its migration Job has finished must not take traffic or events (a missing table
    would send good events to the dead-letter topic)."""
    expected = migration_head(service)
    version_table = f'"{service.replace("-", "_")}".alembic_version'

    async def check() -> tuple[bool, str]:
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(text(f"SELECT version_num FROM {version_table}"))
        except Exception as exc:  # noqa: BLE001 - no version table yet means not migrated
            return False, f"not migrated: {type(exc).__name__}"
        return (found == expected, "at head" if found == expected else f"at {found}, code needs {expected}")

    return check


def refusal_check(worker: object) -> ReadinessCheck:
    """Not ready while the brokers refuse a worker's credentials or ACLs (an outage is no
    refusal: a relay keeps events in its outbox until the brokers are back)."""

    async def check() -> tuple[bool, str]:
        refusal = getattr(worker, "refusal", None)
        return (refusal is None, refusal or "ok")

    return check


def workers_check(workers: Workers) -> ReadinessCheck:
    async def check() -> tuple[bool, str]:
        failed = workers.failed()
        return (not failed, "ok" if not failed else f"stopped: {', '.join(failed)}")

    return check


def consumer_check(consumer: object, *, stale_after_s: float = 60.0) -> ReadinessCheck:
    """A consumer is ready once it has joined and is still polling (a stalled one is not)."""

    async def check() -> tuple[bool, str]:
        if refusal := getattr(consumer, "refusal", None):
            return False, refusal
        last_poll = getattr(consumer, "last_poll", 0.0)
        if not last_poll:
            return False, "not polling yet"
        age = time.monotonic() - last_poll
        return (age < stale_after_s, f"last poll {age:.1f}s ago")

    return check


class RequestMetrics:
    """Times each HTTP request, to the end of its body, by route template and status. A plain
    ASGI middleware: Starlette's `BaseHTTPMiddleware` ran every request in a task of its own
    behind in-memory streams, about 3% of register-service's CPU under load."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the caller gets if the app fails before it answers

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUEST_SECONDS.labels(self.service, scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


def install_platform(app: FastAPI, *, service: str, settings: CommonSettings) -> None:
    install_problem_handlers(app)
    app.state.readiness_checks = {}
    app.state.parent_rate_limiter = TokenBucketLimiter(
        per_minute=settings.parent_rate_per_minute, burst=settings.parent_rate_burst
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(TraceMiddleware)  # outermost: every answer, a 413 too, carries the ids

    app.add_middleware(RequestMetrics, service=service)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"], summary="Dependencies reachable and workers running")
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in app.state.readiness_checks.items()}
        ready = all(ok for ok, _ in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": {k: v for k, (_, v) in results.items()}},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _start_when_migrated(workers: Workers, schema: ReadinessCheck, service: str) -> None:
    """Relays and consumers start only once the schema is at the code's head: code that runs
    ahead of its migration would dead-letter good events for a missing table."""
    while not (ready := await schema())[0]:
        log.warning("%s workers wait for the migration: %s", service, ready[1])
        await asyncio.sleep(5)
    workers.start()


# A consumer batch or a register allocates hundreds of thousands of short-lived objects; the
# default (700, 10, 10) ran a young collection every 700 of them and a full one every few
# batches. Measured on parsing and folding batches of 5,000 mark events: 10.4 µs an event at
# the default, 8.4 µs at these.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collection() -> None:
    """Moves everything built at start-up (modules, models, schemas, routes) out of the cyclic
    garbage collector's sight, and collects less often. Under load each full collection
    walked the whole start-up heap, about 0.1 s of CPU, 10 to 15% of every consumer's CPU."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@dataclass
class ServiceContext:
    """What a service's workers are built from: its settings, engine and session factory."""

    app: FastAPI
    engine: AsyncEngine
    sessionmaker: "async_sessionmaker[AsyncSession]"
    workers: Workers


def create_service_app(
    *,
    service: str,
    title: str,
    summary: str,
    settings: CommonSettings,
    routers: list[APIRouter],
    build_workers: Callable[[ServiceContext], None] | None = None,
    school_la_code: SchoolLaLookup | None = None,
    school_trust_id: SchoolTrustLookup | None = None,
) -> FastAPI:
    """The app factory every service uses: one lifespan that opens the database, starts the
    service's workers, and on shutdown lets them finish their batch before closing.

    `school_la_code` tells the access rules which LA a school belongs to; a service without it
    shows an LA nothing at school level; `school_trust_id` does the same for trusts."""
    configure_logging(service, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, service=service, pool_size=settings.db_pool_size)
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.token_verifier = TokenVerifier(settings)
        app.state.on_shutdown.append(app.state.token_verifier.close)
        workers = Workers()
        app.state.workers = workers
        schema = schema_check(engine, service)
        app.state.readiness_checks.update(
            database=database_check(engine), schema=schema, workers=workers_check(workers)
        )
        if build_workers is not None:
            build_workers(ServiceContext(app, engine, app.state.sessionmaker, workers))
        starter = asyncio.create_task(_start_when_migrated(workers, schema, service), name="start-workers")
        tune_garbage_collection()
        try:
            yield
        finally:
            starter.cancel()
            await workers.stop()
            for close in app.state.on_shutdown:
                await close()
            await engine.dispose()

    app = FastAPI(title=title, version="0.1.0", summary=summary, lifespan=lifespan)
    app.state.settings = settings
    app.state.on_shutdown = []
    app.state.school_la_code = school_la_code
    app.state.school_trust_id = school_trust_id
    install_platform(app, service=service, settings=settings)
    for router in routers:
        app.include_router(router)
    document_rate_limits(app)
    return app
