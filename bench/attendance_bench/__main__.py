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
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import orjson

from attendance_bench.data import School, make_schools, pupil_body, register_body, school_body, school_days
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings
from attendance_stack import LocalStack, StackConfig
from attendance_stack.processes import free_port
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


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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
) -> dict[str, float]:
    # Bodies are generated and encoded before the clock starts: the client's own work is not
    # the server's ingest rate.
    bodies = [
        (school.urn, day, session, register_body(school, session, rng))
        for day in days
        for session in ("am", "pm")
        for school in schools
    ]
    marks = sum(len(body["marks"]) for *_, body in bodies)
    registers = [(urn, day, session, orjson.dumps(body)) for urn, day, session, body in bodies]
    progress = Progress("registers", len(registers))
    started = time.perf_counter()
    latencies = await run_all(
        (
            lambda urn=urn, day=day, session=session, body=body: timed(
                client.put(f"/v1/schools/{urn}/registers/{day}/{session}", content=body, headers=JSON), 200
            )
            for urn, day, session, body in registers
        ),
        concurrency,
        progress,
    )
    elapsed = time.perf_counter() - started
    return {
        "registers": len(registers),
        "marks": marks,
        "seconds": round(elapsed, 3),
        "marks_per_second": round(marks / elapsed),
        "register_p50_ms": round(1000 * statistics.median(latencies), 1),
        "register_p99_ms": round(1000 * percentile(latencies, 99), 1),
    }


async def main_async(args: argparse.Namespace, register_url: str) -> dict[str, object]:
    rng = random.Random(args.seed)
    token = mint_token(CommonSettings(), subject="bench-mis", role=Role.ADMIN)
    schools = make_schools(args.schools, args.pupils)
    days = school_days(date(2026, 9, 7), args.days)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=register_url, headers={"Authorization": f"Bearer {token}"}, timeout=120, limits=limits
    ) as client:
        await seed(client, schools, args.concurrency, rng)
        return {"ingest": await ingest(client, schools, days, args.concurrency, rng)}


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
    args = parser.parse_args()
    if args.smoke:
        args.schools, args.pupils, args.days = 2, 50, 1

    stack = None
    register_url = args.register_url
    if register_url is None:
        data_dir = Path(tempfile.mkdtemp(prefix="attendance-bench-"))
        config = StackConfig(
            data_dir=data_dir,
            postgres_port=free_port(),
            broker_port=free_port(),
            service_ports={s: free_port() for s in ("register", "analytics", "notification", "la-returns")},
            workers={"register": args.register_workers},
            services=("register",) if args.register_only else SERVICES,
        )
        stack = LocalStack(config, say=lambda message: print(f"[stack] {message}", file=sys.stderr))
        stack.start()
        register_url = stack.url("register")
    try:
        results = asyncio.run(main_async(args, register_url))
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
    ingest = results["ingest"]
    print(f"\n{'measure':<34} {'value':>12}")
    print(f"{'register ingest (marks/s)':<34} {ingest['marks_per_second']:>12,}")
    print(f"{'  marks / registers':<34} {ingest['marks']:>6,} / {ingest['registers']:,}")
    print(f"{'  register PUT p50 / p99 (ms)':<34} {ingest['register_p50_ms']:>6} / {ingest['register_p99_ms']}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
