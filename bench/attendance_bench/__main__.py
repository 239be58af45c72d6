"""`python -m attendance_bench`: start the stack as `make run` does (or use a running one), set up
seeded schools, calendars and pupils, then replay school days of a generated year over HTTP as
many MIS integrations would: all schools at once, whole-session registers, amendments,
admissions and deletions as they fall.

Measures, in one run: register ingest flat out; end-to-end marks/s and freshness; freshness at
an evenly paced rate (--rate); query latencies; each service's resident memory; and the raw
limits of PostgreSQL and the broker on the same machine. Writes JSON (default
`.bench/result.json`) and prints a table; progress goes to stderr.
"""

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from attendance_bench.generator import (
    ACADEMIC_YEAR,
    TERMS,
    Admission,
    School,
    SchoolDay,
    make_schools,
    school_year,
    summarise,
)
from attendance_bench.history import MOST_YEARS, fill_history
from attendance_bench.measures import (
    CLIENT,
    Accepted,
    CommittedEvents,
    ConsumedWatcher,
    batches_applied,
    broker_messages_per_second,
    cpu_per_event,
    cpu_seconds,
    freshness,
    latency,
    marks_of,
    percentile,
    postgres_checkpoint,
    postgres_copy_rows_per_second,
    postgres_disk_bytes,
    postgres_version,
    postgres_wal,
    records_of,
    resident_mb,
    topic_disk_bytes,
    wal_per_event,
)
from attendance_bench.profile import POSTGRES_CONFIG, Profiler, print_profile
from attendance_shared.auth import Role, mint_token
from attendance_shared.kafka import KafkaTarget
from attendance_shared.rules.leave import week_session
from attendance_shared.settings import CommonSettings
from attendance_shared.topics import MARKS, PUPILS, TopicSpec
from attendance_stack import LocalStack, StackConfig
from attendance_stack.stack import SERVICES

JSON = {"Content-Type": "application/json"}
BULK_MAX_REGISTERS = 200  # BulkRegistersIn's limit
BULK_MAX_MARKS = 20_000  # register-service's max_marks_per_register, which bounds a bulk request too
ADMISSIONS_PER_REQUEST = 1000  # within AdmissionsIn's 2,000


class Progress:
    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.started, self.shown = label, total, 0, time.monotonic(), 0.0

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done < self.total and now - self.shown < 0.25:
            return
        self.shown = now
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        bar = "#" * filled + "." * (width - filled)
        print(f"\r  {self.label:<10} [{bar}] {self.done}/{self.total} ({rate:,.0f}/s)", end="", file=sys.stderr)
        if self.done >= self.total:
            print(file=sys.stderr)


@dataclass(frozen=True, slots=True)
class Call:
    """One request, encoded before any clock starts: the client's own work is not the server's rate."""

    method: str
    url: str
    body: bytes
    expect: int
    marks: int = 0  # register marks it carries
    pupils: int = 0  # admissions it carries (more than one in a batch)
    registers: int = 0  # session registers it carries (more than one in a bulk PUT)
    mark_events: bool = False  # its answer says how many mark events it caused


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: date
    admit: list[Call]
    am: list[Call]
    pm: list[Call]
    amend: list[Call]
    delete: list[Call]

    def phases(self) -> list[tuple[str, list[Call]]]:
        return [("admit", self.admit), ("am", self.am), ("pm", self.pm), ("amend", self.amend), ("delete", self.delete)]

    @property
    def calls(self) -> int:
        return sum(len(calls) for _, calls in self.phases())


def _call(method: str, url: str, body: dict, expect: int, **kw: object) -> Call:
    return Call(method, url, orjson.dumps(body), expect, **kw)  # type: ignore[arg-type]


def register_calls(school_day: SchoolDay, session: str, bulk: int) -> list[Call]:
    registers = [r for r in school_day.registers if r.session == session]
    if bulk <= 1:
        return [
            _call(
                "PUT",
                f"/v1/schools/{r.urn}/registers/{r.day}/{session}",
                {"marks": r.marks},
                200,
                marks=len(r.marks),
                registers=1,
            )
            for r in registers
        ]
    # An MIS vendor hosting many schools sends their registers together, within the API's limits.
    calls, batch, marks = [], [], 0
    for register in registers:
        if batch and (len(batch) == min(bulk, BULK_MAX_REGISTERS) or marks + len(register.marks) > BULK_MAX_MARKS):
            calls.append(_call("PUT", "/v1/registers", {"registers": batch}, 200, marks=marks, registers=len(batch)))
            batch, marks = [], 0
        batch.append(
            {"urn": register.urn, "date": register.day.isoformat(), "session": session, "marks": register.marks}
        )
        marks += len(register.marks)
    if batch:
        calls.append(_call("PUT", "/v1/registers", {"registers": batch}, 200, marks=marks, registers=len(batch)))
    return calls


def admission_calls(admissions: Iterable[Admission]) -> list[Call]:
    """A school's admissions of one day in one batch, as an MIS sends an intake or a new
    school's roll; a lone joiner on their own."""
    by_school: dict[str, list[Admission]] = {}
    for admission in admissions:
        by_school.setdefault(admission.urn, []).append(admission)
    calls = []
    for urn, joiners in by_school.items():
        if len(joiners) == 1:
            calls.append(_call("POST", f"/v1/schools/{urn}/pupils", joiners[0].body, 201, pupils=1))
            continue
        for i in range(0, len(joiners), ADMISSIONS_PER_REQUEST):
            batch = [a.body for a in joiners[i : i + ADMISSIONS_PER_REQUEST]]
            calls.append(_call("POST", f"/v1/schools/{urn}/admissions", {"pupils": batch}, 201, pupils=len(batch)))
    return calls


def plan_day(school_day: SchoolDay, bulk: int) -> DayPlan:
    return DayPlan(
        day=school_day.day,
        admit=admission_calls(school_day.admissions),
        am=register_calls(school_day, "am", bulk),
        pm=register_calls(school_day, "pm", bulk),
        amend=[
            _call(
                "PATCH",
                f"/v1/schools/{a.urn}/registers/{a.day}/{a.session}/marks/{a.upn}",
                a.body,
                200,
                mark_events=True,
            )
            for a in school_day.amendments
        ],
        delete=[
            _call("POST", f"/v1/schools/{d.urn}/pupils/{d.upn}/deletion", d.body, 200) for d in school_day.deletions
        ],
    )


@dataclass
class Replay:
    """The generated year cut into what the run sends: the roll before the window, the days
    replayed flat out, then the days replayed at a paced rate."""

    schools: list[School]
    before: list[SchoolDay]
    flat: list[SchoolDay]
    paced: list[SchoolDay]


def cut_year(schools: list[School], seed: int, start: date | None, days: int, paced_days: int) -> Replay:
    before: list[SchoolDay] = []
    flat: list[SchoolDay] = []
    paced: list[SchoolDay] = []
    for school_day in school_year(schools, seed):
        if start is not None and school_day.day < start:
            before.append(school_day)  # only its admissions and deletions are sent, at set-up
            continue
        window = flat if len([d for d in flat if d.registers]) < days else paced
        if window is paced and len([d for d in paced if d.registers]) >= paced_days:
            break
        if start is not None:
            # Marks made before the window were never sent, so neither are their amendments.
            kept = [a for a in school_day.amendments if a.day >= start]
            school_day = replace(school_day, amendments=kept)
        window.append(school_day)
    return Replay(schools, before, flat, paced)


def client_limits(concurrency: int) -> httpx.Limits:
    """A connection pool for `concurrency` calls in flight. Idle connections are dropped after
    2 s, before uvicorn closes them at 5 s: reusing one the server is closing fails with a
    ReadError, as it did while 84,000 admissions were being built after the schools' PUTs."""
    return httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2.0)


async def run_calls(
    client: httpx.AsyncClient,
    calls: list[Call],
    concurrency: int,
    progress: Progress,
    accepted: list[Accepted],
    *,
    send_at: Callable[[Call], float] | None = None,
    lags: list[float] | None = None,
) -> list[float]:
    """Send `calls` with at most `concurrency` in flight; return each one's seconds. Each answer
    with marks goes into `accepted`, for freshness."""
    semaphore = asyncio.Semaphore(concurrency)
    lags = [] if lags is None else lags

    async def one(call: Call) -> float:
        if send_at is not None:
            # Wait for the slot before taking a connection, so waiting calls hold none.
            await asyncio.sleep(max(send_at(call) - time.monotonic(), 0.0))
        async with semaphore:
            if send_at is not None:
                # How late the call left against its slot: the client, not the server, if large.
                lags.append(time.monotonic() - send_at(call))
            started = time.perf_counter()
            headers = JSON if call.body else {}
            response = await client.request(call.method, call.url, content=call.body, headers=headers)
            seconds = time.perf_counter() - started
        if response.status_code != call.expect:
            raise RuntimeError(f"{call.method} {call.url}: {response.status_code} {response.text[:500]}")
        if call.mark_events or call.marks:
            accepted.append(Accepted(time.monotonic(), *_records_and_marks(response)))
        progress.step()
        return seconds

    return await asyncio.gather(*(one(call) for call in calls))


def _records_and_marks(response: httpx.Response) -> tuple[int, int]:
    """The marks topic's records the request caused, and the marks in them: a register's
    changed marks and the planned marks that stood with it are one record (the bench's
    registers are far below the size at which the register cuts one in parts), an amendment
    one record of one mark."""
    body = response.json()
    if "registers" in body:
        registers = body["registers"]
    elif "recorded" in body:
        registers = [body]
    else:
        return 1, 1  # an amendment
    marks = [r["recorded"] + r.get("planned", 0) for r in registers]
    return sum(1 for m in marks if m), sum(marks)


@dataclass
class PhaseTimes:
    seconds: dict[str, float] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)  # paced calls: seconds sent after their slot

    def add(self, phase: str, seconds: float, latencies: list[float]) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds
        self.latencies.setdefault(phase, []).extend(latencies)


async def replay(
    client: httpx.AsyncClient,
    plans: list[DayPlan],
    concurrency: int,
    label: str,
    *,
    rate: float | None = None,
) -> tuple[PhaseTimes, list[Accepted], float]:
    """Replay days in order, each phase (admissions, morning registers, afternoon registers,
    amendments, deletions) waiting for the one before, as each day's MIS traffic does.
    With `rate`, register calls are sent on an even schedule of `rate` marks a second.

    Returns the phases' times, each mark-carrying answer's (time, events), and when the first
    phase with mark events began: the clock of the end-to-end rate and of the paced schedule,
    so the September intake's admissions before the first register do not count against them."""
    progress = Progress(label, sum(p.calls for p in plans))
    accepted: list[Accepted] = []
    times = PhaseTimes()
    started: float | None = None
    offered = 0
    slots: dict[int, float] = {}  # when each register call is due, by id: two calls may be equal

    def slot(call: Call) -> float:
        return slots[id(call)]

    for plan in plans:
        for phase, calls in plan.phases():
            if not calls:
                continue
            if started is None and phase in ("am", "pm", "amend"):
                started = time.monotonic()
            paced = started is not None and rate is not None and rate > 0 and phase in ("am", "pm")
            if paced:
                for call in calls:
                    slots[id(call)] = started + offered / rate  # type: ignore[operator]  # paced implies both are set
                    offered += call.marks
            send_at = slot if paced else None
            phase_started = time.monotonic()
            latencies = await run_calls(
                client, calls, concurrency, progress, accepted, send_at=send_at, lags=times.lags
            )
            times.add(phase, time.monotonic() - phase_started, latencies)
    return times, accepted, time.monotonic() if started is None else started


def ingest_figures(plans: list[DayPlan], times: PhaseTimes) -> dict[str, object]:
    """Register figures count only the time spent sending registers: the other phases of a day
    are timed on their own."""
    marks = sum(c.marks for p in plans for c in (*p.am, *p.pm))
    seconds = times.seconds.get("am", 0.0) + times.seconds.get("pm", 0.0)
    register_latencies = times.latencies.get("am", []) + times.latencies.get("pm", [])
    registers = sum(c.registers for p in plans for c in (*p.am, *p.pm))
    result: dict[str, object] = {
        "days": len([p for p in plans if p.am or p.pm]),
        "registers": registers,
        "register_requests": len(register_latencies),
        "marks": marks,
        "seconds": round(seconds, 3),
        "marks_per_second": round(marks / max(seconds, 1e-9)),
        "register_p50_ms": _ms(statistics.median(register_latencies)) if register_latencies else None,
        "register_p99_ms": _ms(percentile(register_latencies, 99)) if register_latencies else None,
    }
    for phase, name in (("amend", "amendments"), ("admit", "admissions"), ("delete", "deletions")):
        if latencies := times.latencies.get(phase):
            # Admissions go several to a request; amendments and deletions one each.
            items = sum(c.pupils for p in plans for c in p.admit) if phase == "admit" else len(latencies)
            result[name] = {
                "items": items,
                "requests": len(latencies),
                "per_second": round(items / max(times.seconds[phase], 1e-9)),
                "p50_ms": _ms(statistics.median(latencies)),
                "p99_ms": _ms(percentile(latencies, 99)),
            }
    return result


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


async def set_up(client: httpx.AsyncClient, replay_plan: Replay, concurrency: int, bulk: int) -> int:
    """Schools, their calendars, and the roll as it stood before the first replayed day; the
    pupil events that makes (admissions and deletions)."""
    for school in replay_plan.schools:
        (await client.put(f"/v1/schools/{school.urn}", json=school.body())).raise_for_status()
        (await client.put(f"/v1/schools/{school.urn}/calendar", json=school.calendar_body())).raise_for_status()
    # Pupils on roll before the year began; those who joined on a day before the window come
    # with that day's admissions.
    admissions = admission_calls(
        Admission(s.urn, p.upn, p.admission_body())
        for s in replay_plan.schools
        for p in s.pupils
        if p.admission_date < TERMS[0].start
    )
    admissions += [c for d in replay_plan.before for c in plan_day(d, bulk).admit]
    deletions = [c for d in replay_plan.before for c in plan_day(d, bulk).delete]
    accepted: list[Accepted] = []
    await run_calls(client, admissions, concurrency, Progress("admit", len(admissions)), accepted)
    if deletions:
        await run_calls(client, deletions, concurrency, Progress("delete", len(deletions)), accepted)
    return sum(c.pupils for c in admissions) + len(deletions)


@dataclass
class Target:
    """Where the services and their dependencies are; only register is needed for ingest."""

    urls: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)
    # PostgreSQL's postmaster and the broker, when the bench started them: for CPU figures.
    dependency_pids: dict[str, int] = field(default_factory=dict)
    database_url: str | None = None
    kafka: KafkaTarget | None = None
    # The brokers' log folders, when the bench started them: bytes on disk per topic.
    broker_log_dirs: list[Path] = field(default_factory=list)
    # analytics-service's environment in the stack, for `analytics_service.rebuild`.
    analytics_env: dict[str, str] = field(default_factory=dict)


def started_stack(prefix: str, **options: Any) -> tuple[LocalStack, Target]:
    """A fresh stack on free ports in a new temporary folder, as `make run` starts it, and
    where to reach it. `options` go to `StackConfig.on_free_ports`."""
    config = StackConfig.on_free_ports(Path(tempfile.mkdtemp(prefix=prefix)), **options)
    stack = LocalStack(config, say=lambda message: print(f"[stack] {message}", file=sys.stderr))
    stack.start()
    try:
        return stack, Target(
            urls={service: stack.url(service) for service in config.services},
            pids={service: process.pid for service, process in stack.services.items()},
            dependency_pids={
                name: part.process.pid
                for name, part in (("postgres", stack.postgres), ("broker", stack.broker))
                if part is not None and part.process is not None
            },
            database_url=stack.database_url,
            kafka=stack.kafka,
            broker_log_dirs=[node.data_dir for node in stack.broker.nodes] if stack.broker else [],
            analytics_env=stack.service_env("analytics") if "analytics" in config.services else {},
        )
    except BaseException:
        stopped(stack)  # the caller never gets the stack to stop, so its processes would outlive the run
        raise


def stopped(stack: LocalStack) -> None:
    """Stop the bench's stack and remove its temporary folder: a run with `--history 5` leaves
    gigabytes there."""
    try:
        stack.stop()
    finally:
        shutil.rmtree(stack.config.data_dir, ignore_errors=True)


def bench_on_fresh_stack(
    prefix: str, args: Any, run: Callable[[Any, Target], Awaitable[dict[str, object]]], **options: Any
) -> dict[str, object]:
    """Run one of the focused benches on a fresh stack, stop it, write `args.out` and print.
    `options` go to `started_stack`."""
    stack, target = started_stack(prefix, **options)
    try:
        results = asyncio.run(run(args, target))
    finally:
        stopped(stack)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))
    return results


async def _watch(target: Target) -> tuple[ConsumedWatcher, asyncio.Task[None]] | None:
    if "analytics" not in target.urls:
        return None
    committed = CommittedEvents(_broker_of(target))
    await committed.start()
    watcher = ConsumedWatcher(committed)
    baseline = await watcher.current()

    async def watch() -> None:
        try:
            await watcher.run(baseline)
        finally:
            await committed.close()

    return watcher, asyncio.create_task(watch())


def _broker_of(target: Target) -> KafkaTarget:
    if target.kafka is None:
        raise ValueError("consumers' progress is read from the broker: the target needs kafka")
    return target.kafka


async def _fresh(
    watching: tuple[ConsumedWatcher, asyncio.Task[None]] | None,
    accepted: list[Accepted],
    started: float,
    timeout_s: float,
) -> dict[str, float] | None:
    """Wait until analytics has applied every record of marks accepted, then read freshness off it."""
    if watching is None:
        return None
    watcher, task = watching
    await watcher.wait_for(records_of(accepted), timeout_s)
    watcher.stop()
    await task
    return freshness(accepted, watcher, started)


# la-returns reads no marks: it asks analytics for runs and spells. support-service reads
# every mark but keeps only those of pupils with an open case.
OTHER_MARK_CONSUMERS = ("notification", "support")
MARK_CONSUMERS = ("analytics", *OTHER_MARK_CONSUMERS)
PUPIL_CONSUMERS = ("analytics", *OTHER_MARK_CONSUMERS, "la-returns")


def _cpu(target: Target) -> dict[str, float]:
    """CPU seconds so far of every process of a stack the bench started, and its own."""
    if not target.pids:
        return {}
    own = os.times()
    return {**cpu_seconds(target.pids | target.dependency_pids), CLIENT: own.user + own.system}


async def _consumed(target: Target, services: Sequence[str], topic: TopicSpec = MARKS) -> dict[str, float]:
    present = [service for service in services if service in target.urls]
    if not present:
        return {}
    async with CommittedEvents(_broker_of(target)) as committed:
        return {service: await committed.of(service, topic) for service in present}


async def _caught_up(
    target: Target, before: dict[str, float], events: int, timeout_s: float, topic: TopicSpec = MARKS
) -> bool:
    """Until each consumer in `before` has applied `events` more events of `topic`: a run
    started while they still clear an earlier backlog would measure that backlog. False if
    one had not within `timeout_s`."""
    if not before:
        return True
    deadline = time.monotonic() + timeout_s
    async with CommittedEvents(_broker_of(target)) as committed:
        while time.monotonic() < deadline:
            applied = {service: await committed.of(service, topic) for service in before}
            if all(applied[service] - before[service] >= events for service in before):
                return True
            await asyncio.sleep(0.2)
    return False


def _unapplied(results: dict[str, object], e2e: dict[str, float], timeout_s: float) -> None:
    if missing := e2e.get("marks_not_applied"):
        _warn(
            results,
            f"analytics had not applied {missing:,.0f} of {e2e['marks']:,.0f} marks after {timeout_s:g} s;"
            " no end-to-end rate is given, and freshness covers only the marks it had applied",
        )


def _warn(results: dict[str, object], warning: str) -> None:
    """Said at once on stderr, and kept in the result file with the figures it qualifies."""
    print(f"  warning: {warning}", file=sys.stderr)
    results.setdefault("warnings", []).append(warning)  # type: ignore[union-attr]


# The one session a bench pupil on a part-time timetable attends: every other is a planned C2.
PART_TIME_ATTENDS = "mon_am"


def part_time_pupils(year: Replay, per_school: int) -> dict[str, list[str]]:
    """Per school, the first `per_school` pupils (by UPN) admitted before the replay (at set-up)
    and on roll to its end."""
    days = [d.day for d in (*year.flat, *year.paced)]
    if not per_school or not days:
        return {}
    return {
        s.urn: sorted(p.upn for p in s.pupils if p.admission_date < days[0] and p.on_roll(days[-1]))[:per_school]
        for s in year.schools
    }


def with_part_time(year: Replay, pupils: dict[str, list[str]]) -> Replay:
    """The replay as an MIS that knows the part-time timetables sends it: C2 in each open
    session the pupil is not timetabled for (the planned mark), and no amendment of those."""

    def planned(urn: str, upn: str, day: date, session: str) -> bool:
        return upn in chosen.get(urn, ()) and week_session(day, session) != PART_TIME_ATTENDS

    def school_day(d: SchoolDay) -> SchoolDay:
        registers = [
            replace(
                r,
                marks=[
                    {"upn": m["upn"], "code": "C2"}
                    if m["code"] != "#" and planned(r.urn, str(m["upn"]), r.day, r.session)
                    else m
                    for m in r.marks
                ],
            )
            for r in d.registers
        ]
        amendments = [a for a in d.amendments if not planned(a.urn, a.upn, a.day, a.session)]
        return replace(d, registers=registers, amendments=amendments)

    chosen = {urn: set(upns) for urn, upns in pupils.items()}
    return replace(year, flat=[school_day(d) for d in year.flat], paced=[school_day(d) for d in year.paced])


def part_time_calls(pupils: dict[str, list[str]], start: date) -> list[Call]:
    body = {"reason": "reintegration", "attended_sessions": [PART_TIME_ATTENDS], "start_date": start.isoformat()}
    return [
        _call("POST", f"/v1/schools/{urn}/pupils/{upn}/part-time-timetables", body, 201)
        for urn, upns in pupils.items()
        for upn in upns
    ]


async def main_async(args: argparse.Namespace, target: Target) -> dict[str, object]:
    schools = make_schools(args.schools, args.pupils, args.seed)
    start = date.fromisoformat(args.start) if args.start else None
    year = cut_year(schools, args.seed, start, args.days, args.paced_days if args.rate else 0)
    part_time = part_time_pupils(year, args.planned)
    year = with_part_time(year, part_time)
    flat = [plan_day(d, args.bulk) for d in year.flat]
    paced = [plan_day(d, args.bulk) for d in year.paced]
    # One MIS vendor's token for all its schools, as a hosted MIS integration holds.
    mis = mint_token(CommonSettings(), subject="bench-mis", role=Role.MIS, schools=[s.urn for s in schools])
    admin = mint_token(CommonSettings(), subject="bench-admin", role=Role.ADMIN)
    limits = client_limits(args.concurrency)
    results: dict[str, object] = {"data": asdict(summarise([*year.flat, *year.paced]))}
    async with httpx.AsyncClient(
        base_url=target.urls["register"], headers={"Authorization": f"Bearer {mis}"}, timeout=120, limits=limits
    ) as client:
        pupils_before = await _consumed(target, PUPIL_CONSUMERS, PUPILS)
        pupil_events = await set_up(client, year, args.concurrency, args.bulk)
        if part_time:
            # Recorded before the first replayed day's registers, from that day: every session
            # of the replay but Monday mornings is a planned C2 for these pupils.
            calls = part_time_calls(part_time, year.flat[0].day)
            await run_calls(client, calls, args.concurrency, Progress("part-time", len(calls)), [])
            pupil_events += len(calls)
            results["planned_marks_per_register"] = args.planned
        # The set-up's admissions go in batches, faster than the consumers apply their events:
        # the replay starts once they have, so none of the set-up's work is measured with it.
        waited = time.monotonic()
        if await _caught_up(target, pupils_before, pupil_events, args.freshness_timeout, PUPILS):
            waited = time.monotonic() - waited
            say = f"  consumers applied the set-up's {pupil_events:,} pupil events {waited:.1f} s later"
            print(say, file=sys.stderr)
        else:
            _warn(
                results,
                f"the consumers had not applied the set-up's {pupil_events:,} pupil events after "
                f"{args.freshness_timeout:g} s; the replay's figures include the rest of them",
            )
        if args.history:
            results["history"] = await fill_history(target.database_url or "", schools, args.seed, args.history)
        if target.database_url:
            await postgres_checkpoint(target.database_url)
        watching = await _watch(target)
        consumed_before = await _consumed(target, OTHER_MARK_CONSUMERS)
        batches_before = await batches_applied(target.urls) if target.pids else {}
        cpu_before = _cpu(target)
        profiler = Profiler(args.profile, target.pids, target.database_url) if args.profile and target.pids else None
        if profiler:
            await profiler.start()
        wal_before = await postgres_wal(target.database_url) if target.database_url else None
        times, accepted, started = await replay(client, flat, args.concurrency, "replay")
        results["ingest"] = ingest_figures(flat, times)
        if e2e := await _fresh(watching, accepted, started, args.freshness_timeout):
            results["end_to_end"] = e2e
            _unapplied(results, e2e, args.freshness_timeout)
        # Once analytics, and the other consumers of the marks topic, have caught up: the CPU
        # figures then hold all the flat-out run's work, and the paced one none of it.
        events, records = marks_of(accepted), records_of(accepted)
        others_done = await _caught_up(target, consumed_before, records, args.freshness_timeout)
        if not others_done:
            _warn(
                results,
                f"{' and '.join(OTHER_MARK_CONSUMERS)} had not applied the replay's {records:,} records of marks "
                f"after {args.freshness_timeout:g} s",
            )
        if profiler:
            results["profile"] = await profiler.stop()
        if not others_done or (e2e and "marks_not_applied" in e2e):
            _warn(results, "no CPU per mark event is given: some of the replay's work was not done yet")
        elif cpu_before:
            results["cpu_flat_out"] = cpu_per_event(cpu_before, _cpu(target), events)
            if batches_before:
                batches = await batches_applied(target.urls)
                results["records_per_batch"] = {
                    service: round(records / (batches[service] - before))
                    for service, before in batches_before.items()
                    if service in MARK_CONSUMERS and batches[service] > before
                }
            if wal_before and target.database_url:
                results["wal_flat_out"] = wal_per_event(wal_before, await postgres_wal(target.database_url), events)
        if paced:
            watching = await _watch(target)
            times, accepted, started = await replay(client, paced, args.concurrency, "paced", rate=args.rate)
            results["paced"] = paced_figures(args.rate, paced, times, accepted, started)
            if e2e := await _fresh(watching, accepted, started, args.freshness_timeout):
                results["paced"] |= e2e  # type: ignore[operator]
                _unapplied(results, e2e, args.freshness_timeout)
    if target.pids:
        results["resident_mb"] = resident_mb(target.pids)
    if {"analytics", "la-returns"} <= set(target.urls):
        days = [d.day for d in (*year.flat, *year.paced)]
        results["queries"] = await queries(target, admin, schools[0], days[0], days[-1], args.query_repeats)
    if target.database_url:
        results["disk"] = await disk_figures(target, results)
    if target.database_url and target.kafka and not args.smoke:
        print("  measuring the raw limits of PostgreSQL and the broker", file=sys.stderr)
        results["raw_limits"] = {
            "postgres_copy_rows_per_second": round(await postgres_copy_rows_per_second(target.database_url, 100_000)),
            **await broker_messages_per_second(target.kafka, 50_000),
        }
    return results


async def disk_figures(target: Target, results: dict[str, object]) -> dict[str, object]:
    """Bytes on disk per table (and its indexes) of every service, per topic, and per mark
    stored: what a year, or six, of registers will cost."""
    tables = await postgres_disk_bytes(target.database_url or "")
    topics = topic_disk_bytes(target.broker_log_dirs)
    marks = sum(int(results[phase]["marks"]) for phase in ("ingest", "paced") if phase in results)  # type: ignore[index]
    marks += int(results.get("history", {}).get("marks", 0))  # type: ignore[union-attr]
    figures: dict[str, object] = {"tables": tables, "topics": topics, "marks_stored": marks}
    if marks:
        per_schema: dict[str, int] = {}
        for name, size in tables.items():
            schema = name.split(".")[0]
            per_schema[schema] = per_schema.get(schema, 0) + size["table"] + size["indexes"]
        figures["bytes_per_mark"] = {
            **{f"{schema} (all its tables)": round(total / marks) for schema, total in per_schema.items()},
            **({"broker (all topics)": round(sum(topics.values()) / marks)} if topics else {}),
        }
    return figures


def paced_figures(
    rate: float, plans: list[DayPlan], times: PhaseTimes, accepted: list[Accepted], started: float
) -> dict[str, object]:
    marks = sum(c.marks for p in plans for c in (*p.am, *p.pm))
    # Offered evenly from `started`; achieved is what the register took over the same span,
    # so a server that falls behind shows as achieved below offered.
    last = max((a.at for a in accepted), default=started)
    return {
        "offered_marks_per_second": rate,
        "marks": marks,
        "achieved_marks_per_second": round(marks / max(last - started, 1e-9)),
        "register_p99_ms": _ms(percentile(times.latencies["am"] + times.latencies.get("pm", []), 99)),
        # Near zero: the rate was offered as planned. Large: the client or the day's earlier
        # phases held registers back, and the offered rate was not really offered.
        "send_lag_p99_s": round(percentile(times.lags, 99), 3) if times.lags else None,
    }


async def queries(target: Target, token: str, school: School, first: date, last: date, repeats: int) -> dict:
    """The reads a school, its LA and the analytics views make most, over the replayed days;
    with `--history`, over six years of rows."""
    auth = {"Authorization": f"Bearer {token}"}
    period = {"from": first.isoformat(), "to": last.isoformat()}
    pupil = school.pupils[0].upn
    register = f"/v1/schools/{school.urn}/registers/{last.isoformat()}/am"
    async with (
        httpx.AsyncClient(base_url=target.urls["register"], headers=auth, timeout=60) as registers,
        httpx.AsyncClient(base_url=target.urls["analytics"], headers=auth, timeout=60) as analytics,
        httpx.AsyncClient(base_url=target.urls["la-returns"], headers=auth, timeout=120) as returns,
    ):
        summary = await latency(lambda: analytics.get(f"/v1/schools/{school.urn}/attendance", params=period), repeats)
        pupil_figures = await latency(
            lambda: analytics.get(f"/v1/schools/{school.urn}/pupils/{pupil}/attendance", params=period), repeats
        )
        flags_of_the_year = {"academic_year": ACADEMIC_YEAR}  # the replayed year, not today's
        flagged = await latency(
            lambda: analytics.get(f"/v1/schools/{school.urn}/flags", params=flags_of_the_year), repeats
        )
        register_read = await latency(lambda: registers.get(register), repeats)
        # As it stood a moment ago: the amendment history's read, not the latest revision's.
        as_at = {"as_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
        register_as_at = await latency(lambda: registers.get(register, params=as_at), repeats)
        body = {"kind": "attendance", **period}
        la_return = await latency(lambda: returns.post(f"/v1/las/{school.la_code}/returns", json=body), 3)
    return {
        "school_summary": summary,
        "pupil_figures": pupil_figures,
        "flagged_list": flagged,
        "register_read": register_read,
        "register_as_at": register_as_at,
        "la_return_compile": la_return,
    }


def _ratio(value: float | None, limit: float | None, of: str) -> str:
    return f"{value / limit:.0%} of {of}" if value and limit else "-"


def table_rows(results: dict, args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    """(measure, value, target from architecture §8, share of the raw limit measured in this run)."""
    ingest, limits = results["ingest"], results.get("raw_limits", {})
    copy_rate = limits.get("postgres_copy_rows_per_second")
    broker = min(limits["produce_per_second"], limits["consume_per_second"]) if limits else None
    rows = [
        (
            "register ingest, marks/s",
            f"{ingest['marks_per_second']:,}",
            ">= 20,000",
            _ratio(ingest["marks_per_second"], copy_rate, "PG COPY"),
        ),
        ("  register request p50 / p99", f"{ingest['register_p50_ms']} / {ingest['register_p99_ms']} ms", "-", "-"),
    ]
    for name in ("amendments", "admissions", "deletions"):
        if figures := ingest.get(name):
            value = f"{figures['per_second']:,}/s, p99 {figures['p99_ms']} ms"
            count = (
                f"{figures['items']} in {figures['requests']} requests" if name == "admissions" else figures["items"]
            )
            rows.append((f"  {name} ({count})", value, "-", "-"))
    if e2e := results.get("end_to_end"):
        if value := e2e.get("end_to_end_marks_per_second"):
            rows.append(("end to end, marks/s", f"{value:,}", ">= 10,000", _ratio(value, broker, "raw broker")))
        else:
            rows.append(("end to end, marks/s", f"{e2e['marks_not_applied']:,} marks not applied", ">= 10,000", "-"))
        if e2e["freshness_p50_s"] >= 0:
            freshness = f"{e2e['freshness_p50_s']} / {e2e['freshness_p99_s']} s"
            rows.append(("  freshness p50 / p99, flat out", freshness, "-", "-"))
        if catching_up := e2e.get("analytics_catch_up_marks_per_second"):
            # The backlog analytics cleared once register-service had stopped taking registers.
            rows.append(("  analytics alone, clearing its backlog", f"{catching_up:,}", ">= 10,000", "-"))
    if paced := results.get("paced"):
        rate = paced["offered_marks_per_second"]
        achieved = f"{rate:,.0f} / {paced['achieved_marks_per_second']:,} (send lag p99 {paced['send_lag_p99_s']} s)"
        rows.append(("paced: offered / achieved marks/s", achieved, "-", "-"))
        if "freshness_p99_s" in paced:
            target = "p99 <= 2 s" if rate == 5000 else "p99 <= 2 s at 5,000/s"
            freshness = f"{paced['freshness_p50_s']} / {paced['freshness_p99_s']} s"
            rows.append((f"  freshness p50 / p99 at {rate:,.0f}/s", freshness, target, "-"))
    query_targets = {
        "school_summary": f"p95 <= 50 ms (2,000 pupils; here {args.pupils:,})",
        "la_return_compile": "<= 5 s (100 schools x 1,000 pupils)",
    }
    for name, figures in results.get("queries", {}).items():
        value = f"{figures['p50_ms']} / {figures['p95_ms']} ms"
        rows.append((f"{name.replace('_', ' ')} p50 / p95", value, query_targets.get(name, "-"), "-"))
    for service, mb in results.get("resident_mb", {}).items():
        rows.append((f"{service}-service resident memory", f"{mb} MB", "< 250 MB", "-"))
    if cpu := results.get("cpu_flat_out"):
        # 10,000 marks/s end to end on two cores leaves 200 µs of CPU a mark for everything.
        stack = f"{cpu['stack_us_per_event']:,} µs ({cpu['stack_over_client']} x the client's)"
        rows.append(("CPU per mark event, flat out, stack", stack, "-", "-"))
        for name, us in cpu["us_per_event"].items():
            rows.append((f"  {name}", f"{us:,} µs", "-", "-"))
    if wal := results.get("wal_flat_out"):
        written = f"{wal['bytes_per_mark_event']:,} bytes, {wal['full_page_images_per_mark_event']} full pages"
        rows.append(("PostgreSQL WAL per mark event, flat out", written, "-", "-"))
    if limits:
        rows.append(("raw PostgreSQL COPY, rows/s", f"{limits['postgres_copy_rows_per_second']:,}", "-", "limit"))
        produce, consume = limits["produce_per_second"], limits["consume_per_second"]
        rows.append(("raw broker produce / consume, msg/s", f"{produce:,} / {consume:,}", "-", "limit"))
    for name, size in results.get("disk", {}).get("bytes_per_mark", {}).items():  # type: ignore[union-attr]
        rows.append((f"disk per mark stored, {name}", f"{size:,} bytes", "-", "-"))
    if history := results.get("history"):
        copied = f"{history['marks']:,} register entries, {history['pupil_years']:,} pupil-years"
        copied += f" in {history['seconds']} s"
        rows.append((f"history: {history['years']} earlier years copied in first", copied, "-", "-"))
    data = results["data"]
    shares = (
        f"PA {data['persistent_absence_share']:.1%}, SA {data['severe_absence_share']:.1%}, "
        f"absence {data['overall_absence_rate']:.1%}"
    )
    rows.append(("data replayed (enrolments' own sessions)", shares, "-", "-"))
    return rows


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("measure", "value", "target (§8)", "of raw limit")
    widths = [max(len(row[i]) for row in (*rows, header)) + 2 for i in range(3)]
    print()
    for row in (header, *rows):
        print("".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + row[3])


def machine(target: Target) -> dict[str, object]:
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    facts: dict[str, object] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024**2, 1),
        "load_average_at_end": os.getloadavg(),  # the machine is shared: say how busy it was
    }
    if target.database_url:
        facts["postgresql"] = asyncio.run(postgres_version(target.database_url))
    return facts


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--pupils", type=int, default=1000, help="per school on the first day (one register each)")
    parser.add_argument("--days", type=int, default=5, help="school days replayed flat out (two sessions each)")
    parser.add_argument("--start", help="first day replayed (YYYY-MM-DD in 2025/26); default the first school day")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rate", type=float, default=5000, help="marks/s offered evenly in the paced run; 0: none")
    parser.add_argument("--paced-days", type=int, default=2, help="school days replayed at --rate, after --days")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight, as many MIS at once")
    parser.add_argument("--bulk", type=int, default=1, help="registers per PUT /v1/registers; 1: one PUT per school")
    parser.add_argument("--register-workers", type=int, default=1, help="register-service processes")
    parser.add_argument(
        "--register-only",
        action="store_true",
        help="start only PostgreSQL, the broker and register-service (its relay still publishes every event)",
    )
    parser.add_argument(
        "--secured-kafka",
        action="store_true",
        help="the broker as production runs it: TLS, SCRAM-SHA-512 and ACLs, each service its own principal",
    )
    parser.add_argument(
        "--planned",
        type=int,
        default=0,
        help="pupils per school on a part-time timetable (Monday mornings only): each other register of the "
        "replay stands that many planned C2 marks",
    )
    parser.add_argument("--register-url", help="use this running register-service instead of starting a stack")
    parser.add_argument("--out", type=Path, default=Path(".bench/result.json"))
    parser.add_argument("--smoke", action="store_true", help="a few seconds' run that only checks the bench works")
    parser.add_argument(
        "--year",
        action="store_true",
        help="every school day of the year, figures month by month (attendance_bench/year.py); --days ignored",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="with --year: then rebuild analytics from the register's log into a new database, timed and compared",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        choices=range(MOST_YEARS + 1),
        metavar=f"0..{MOST_YEARS}",
        help="earlier school years copied straight into the register's and analytics' tables before the replay "
        "(attendance_bench/history.py): the queries and ingest over six years of rows",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample every service with py-spy during the flat-out replay; folded stacks into DIR, top functions "
        "into the result (attendance_bench/profile.py)",
    )
    parser.add_argument("--query-repeats", type=int, default=30, help="requests per query latency")
    parser.add_argument("--freshness-timeout", type=float, default=300, help="seconds to wait for analytics")
    args = parser.parse_args(None if argv is None else list(argv))
    if args.smoke:
        args.schools, args.pupils, args.days, args.paced_days, args.rate = 2, 50, 1, 1, 1000
    if args.history and (args.register_url or args.register_only):
        parser.error("--history fills the stack's own databases: it needs the whole stack the bench starts")
    return args


def write_document(args: argparse.Namespace, facts: dict, results: dict, rows: list[tuple[str, ...]]) -> None:
    document = {
        "generated_at": datetime.now(UTC).isoformat(),
        "command": shlex.join([Path(sys.executable).name, "-m", "attendance_bench", *sys.argv[1:]]),
        "machine": facts,
        "parameters": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "results": results,
        "table": [dict(zip(("measure", "value", "target", "of_raw_limit"), row, strict=True)) for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, default=str))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the stack


def main() -> None:
    # Killed (`kill`, a CI timeout), the bench still stops its stack rather than orphan it.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parse_args()
    stack = None
    target = Target(urls={"register": args.register_url}) if args.register_url else None
    if target is None:
        stack, target = started_stack(
            "attendance-bench-",
            workers={"register": args.register_workers},
            services=("register",) if args.register_only else SERVICES,
            secured=args.secured_kafka,
            postgres_config=POSTGRES_CONFIG if args.profile else {},
        )
    if args.year:
        from attendance_bench.year import print_year, year_async  # imports this module's helpers

    run = year_async if args.year else main_async
    try:
        results = asyncio.run(run(args, target))
        facts = machine(target)
    finally:
        if stack is not None:
            stopped(stack)
    if args.year:
        write_document(args, facts, results, [])
        print_year(results)
        print(f"\nwritten to {args.out}")
        return

    rows = table_rows(results, args)
    write_document(args, facts, results, rows)
    print_table(rows)
    if "profile" in results:
        print_profile(results["profile"])
    for warning in results.get("warnings", []):
        print(f"\nwarning: {warning}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
