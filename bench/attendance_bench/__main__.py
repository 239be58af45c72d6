"""`python -m attendance_bench`: start the stack as `make run` does (or use a running one),
load schools and pupils, then time whole-session register PUTs from many schools at once.

Writes a JSON result (default `.bench/result.json`) and prints a table.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import orjson

from attendance_bench.data import School, make_schools, pupil_body, register_body, school_body, school_days
from attendance_bench.measures import (
    ConsumedWatcher,
    broker_messages_per_second,
    freshness,
    latency,
    percentile,
    postgres_copy_rows_per_second,
    resident_mb,
)
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings
from attendance_stack import LocalStack, StackConfig
from attendance_stack.stack import SERVICES

JSON = {"Content-Type": "application/json"}


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
        filled = int(width * self.done / self.total)
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        bar = "#" * filled + "." * (width - filled)
        print(f"\r  {self.label:<10} [{bar}] {self.done}/{self.total} ({rate:,.0f}/s)", end="", file=sys.stderr)
        if self.done >= self.total:
            print(file=sys.stderr)


async def run_all(jobs: Iterable[Callable[[], Awaitable[float]]], concurrency: int, progress: Progress) -> list[float]:
    """Run jobs with at most `concurrency` in flight; return each one's seconds."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[float]]) -> float:
        async with semaphore:
            seconds = await job()
            progress.step()
            return seconds

    return await asyncio.gather(*(one(job) for job in jobs))


async def timed(call: Awaitable[httpx.Response], expect: int) -> float:
    started = time.perf_counter()
    response = await call
    if response.status_code != expect:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:300]}"
        )
    return time.perf_counter() - started


async def seed(client: httpx.AsyncClient, schools: list[School], concurrency: int, rng: random.Random) -> None:
    for school in schools:
        response = await client.put(f"/v1/schools/{school.urn}", json=school_body(school))
        response.raise_for_status()
    bodies = [(s.urn, pupil_body(upn, rng)) for s in schools for upn in s.upns]
    progress = Progress("admit", len(bodies))
    await run_all(
        (
            lambda urn=urn, body=body: timed(client.post(f"/v1/schools/{urn}/pupils", json=body), 201)
            for urn, body in bodies
        ),
        concurrency,
        progress,
    )


async def ingest(
    client: httpx.AsyncClient, schools: list[School], days: list[date], concurrency: int, rng: random.Random
) -> tuple[dict[str, float], list[tuple[float, int]], float]:
    """Time whole-session register PUTs; also return when each was accepted (for freshness)."""
    # Bodies are generated and encoded before the clock starts: the client's own work is not
    # the server's ingest rate.
    bodies = [
        (school.urn, day, session, register_body(school, session, rng))
        for day in days
        for session in ("am", "pm")
        for school in schools
    ]
    marks = sum(len(body["marks"]) for *_, body in bodies)
    registers = [(urn, day, session, orjson.dumps(body), len(body["marks"])) for urn, day, session, body in bodies]
    progress = Progress("registers", len(registers))
    accepted: list[tuple[float, int]] = []

    async def put(urn: str, day: date, session: str, body: bytes, count: int) -> float:
        seconds = await timed(
            client.put(f"/v1/schools/{urn}/registers/{day}/{session}", content=body, headers=JSON), 200
        )
        accepted.append((time.monotonic(), count))
        return seconds

    started = time.monotonic()
    latencies = await run_all((lambda r=r: put(*r) for r in registers), concurrency, progress)
    elapsed = time.monotonic() - started
    result = {
        "registers": len(registers),
        "marks": marks,
        "seconds": round(elapsed, 3),
        "marks_per_second": round(marks / elapsed),
        "register_p50_ms": round(1000 * statistics.median(latencies), 1),
        "register_p99_ms": round(1000 * percentile(latencies, 99), 1),
    }
    return result, accepted, started


@dataclass
class Target:
    """Where the services and their dependencies are; only register is needed for ingest."""

    urls: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)
    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None


async def main_async(args: argparse.Namespace, target: Target) -> dict[str, object]:
    rng = random.Random(args.seed)
    token = mint_token(CommonSettings(), subject="bench-mis", role=Role.ADMIN)
    auth = {"Authorization": f"Bearer {token}"}
    schools = make_schools(args.schools, args.pupils)
    days = school_days(date(2026, 9, 7), args.days)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    results: dict[str, object] = {}
    async with httpx.AsyncClient(base_url=target.urls["register"], headers=auth, timeout=120, limits=limits) as client:
        await seed(client, schools, args.concurrency, rng)
        watcher = baseline = watching = None
        if "analytics" in target.urls:
            watcher = ConsumedWatcher(target.urls["analytics"])
            async with httpx.AsyncClient(timeout=5) as probe:
                baseline = await watcher.current(probe)
            watching = asyncio.create_task(watcher.run(baseline))
        results["ingest"], accepted, started = await ingest(client, schools, days, args.concurrency, rng)
    if watcher is not None and watching is not None:
        total = results["ingest"]["marks"]  # type: ignore[index]
        await watcher.wait_for(total, args.freshness_timeout)
        watcher.stop()
        await watching
        results["end_to_end"] = freshness(accepted, watcher, started)
    if target.pids:
        results["resident_mb"] = resident_mb(target.pids)
    if {"analytics", "la-returns"} <= set(target.urls):
        results["queries"] = await queries(target, auth, schools[0], days, args.query_repeats)
    if target.database_url and target.kafka_bootstrap_servers and not args.smoke:
        print("  measuring the raw limits of PostgreSQL and the broker", file=sys.stderr)
        results["raw_limits"] = {
            "postgres_copy_rows_per_second": round(await postgres_copy_rows_per_second(target.database_url, 100_000)),
            **await broker_messages_per_second(target.kafka_bootstrap_servers, 50_000),
        }
    return results


async def queries(target: Target, auth: dict[str, str], school: School, days: list[date], repeats: int) -> dict:
    period = {"from": days[0].isoformat(), "to": days[-1].isoformat()}
    async with (
        httpx.AsyncClient(base_url=target.urls["analytics"], headers=auth, timeout=60) as analytics,
        httpx.AsyncClient(base_url=target.urls["la-returns"], headers=auth, timeout=120) as returns,
    ):
        summary = await latency(lambda: analytics.get(f"/v1/schools/{school.urn}/attendance", params=period), repeats)
        flagged = await latency(lambda: analytics.get(f"/v1/schools/{school.urn}/flags"), repeats)
        body = {"kind": "attendance", **period}
        la_return = await latency(lambda: returns.post(f"/v1/las/{school.la_code}/returns", json=body), 3)
    return {"school_summary": summary, "flagged_list": flagged, "la_return_compile": la_return}


def print_table(results: dict) -> None:
    rows: list[tuple[str, str]] = []
    ingest, limits = results["ingest"], results.get("raw_limits", {})
    copy_rate = limits.get("postgres_copy_rows_per_second")
    ratio = f"  ({ingest['marks_per_second'] / copy_rate:.0%} of COPY)" if copy_rate else ""
    rows.append(("register ingest, marks/s", f"{ingest['marks_per_second']:,}{ratio}"))
    rows.append(("  register PUT p50 / p99", f"{ingest['register_p50_ms']} / {ingest['register_p99_ms']} ms"))
    if e2e := results.get("end_to_end"):
        consume = limits.get("consume_per_second")
        ratio = f"  ({e2e['end_to_end_marks_per_second'] / consume:.0%} of raw consume)" if consume else ""
        rows.append(("end to end, marks/s", f"{e2e['end_to_end_marks_per_second']:,}{ratio}"))
        rows.append(("  freshness p50 / p99", f"{e2e['freshness_p50_s']} / {e2e['freshness_p99_s']} s"))
    for name, figures in results.get("queries", {}).items():
        rows.append((f"{name.replace('_', ' ')} p50 / p95", f"{figures['p50_ms']} / {figures['p95_ms']} ms"))
    for service, mb in results.get("resident_mb", {}).items():
        rows.append((f"{service}-service resident memory", f"{mb} MB"))
    if limits:
        rows.append(("raw PostgreSQL COPY, rows/s", f"{limits['postgres_copy_rows_per_second']:,}"))
        rows.append(
            (
                "raw broker produce / consume, msg/s",
                f"{limits['produce_per_second']:,} / {limits['consume_per_second']:,}",
            )
        )
    width = max(len(name) for name, _ in rows) + 2
    print(f"\n{'measure':<{width}}value")
    for name, value in rows:
        print(f"{name:<{width}}{value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--pupils", type=int, default=1000, help="per school (one register holds them all)")
    parser.add_argument("--days", type=int, default=5, help="school days of registers (two sessions each)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight, as many MIS at once")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--register-workers", type=int, default=1, help="register-service processes")
    parser.add_argument(
        "--register-only",
        action="store_true",
        help="start only PostgreSQL, the broker and register-service (its relay still publishes every event)",
    )
    parser.add_argument("--register-url", help="use this running register-service instead of starting a stack")
    parser.add_argument("--out", type=Path, default=Path(".bench/result.json"))
    parser.add_argument("--smoke", action="store_true", help="a few seconds' run that only checks the bench works")
    parser.add_argument("--query-repeats", type=int, default=30, help="requests per query latency")
    parser.add_argument("--freshness-timeout", type=float, default=300, help="seconds to wait for analytics")
    args = parser.parse_args()
    if args.smoke:
        args.schools, args.pupils, args.days = 2, 50, 1

    stack = None
    target = Target(urls={"register": args.register_url}) if args.register_url else None
    if target is None:
        data_dir = Path(tempfile.mkdtemp(prefix="attendance-bench-"))
        config = StackConfig.on_free_ports(
            data_dir,
            workers={"register": args.register_workers},
            services=("register",) if args.register_only else SERVICES,
        )
        stack = LocalStack(config, say=lambda message: print(f"[stack] {message}", file=sys.stderr))
        stack.start()
        target = Target(
            urls={service: stack.url(service) for service in config.services},
            pids={service: process.pid for service, process in stack.services.items()},
            database_url=stack.database_url,
            kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        )
    try:
        results = asyncio.run(main_async(args, target))
    finally:
        if stack is not None:
            stack.stop()

    document = {
        "generated_at": datetime.now(UTC).isoformat(),
        "command": " ".join(sys.argv),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "parameters": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, default=str))
    print_table(results)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
