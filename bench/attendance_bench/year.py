"""A whole school year through the real stack, measured month by month as the tables grow:

    make bench BENCH_ARGS="--year [--schools 20] [--pupils 1000] [--rate 5000] [--rebuild]"

Every school day of the generated 2025/26 year is replayed in order. In each month every day
but the last goes flat out; the last is paced at `--rate` marks a second (none with
`--rate 0`). After each month: register ingest, end to end and freshness (flat out and
paced), CPU per mark event of each process and of the whole stack over the bench client's,
the school summary, flagged list and LA return (year to date), resident memory, and bytes on
disk per table and topic. The days are generated a month at a time, so the client's memory
stays that of a month whatever the year holds. With `--rebuild`, analytics is then rebuilt
from the register's log into a new database (attendance_bench/rebuild.py): its rate against
the broker's raw consume rate, and whether it equals the live projection.
"""

import argparse
import itertools
import sys
from collections.abc import Iterator

import httpx

from attendance_bench.__main__ import (
    OTHER_MARK_CONSUMERS,
    PUPIL_CONSUMERS,
    PUPILS,
    Replay,
    Target,
    _caught_up,
    _consumed,
    _cpu,
    _fresh,
    _warn,
    _watch,
    client_limits,
    ingest_figures,
    paced_figures,
    plan_day,
    queries,
    replay,
    set_up,
)
from attendance_bench.generator import TERMS, SchoolDay, make_schools, school_year
from attendance_bench.history import fill_history
from attendance_bench.measures import (
    cpu_per_event,
    marks_of,
    postgres_disk_bytes,
    records_of,
    resident_mb,
    topic_disk_bytes,
)
from attendance_bench.rebuild import rebuild_figures
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings


def months(days: Iterator[SchoolDay]) -> Iterator[tuple[str, list[SchoolDay]]]:
    """The year's days a calendar month at a time, as "2025-09"."""
    for month, grouped in itertools.groupby(days, key=lambda d: d.day.strftime("%Y-%m")):
        yield month, list(grouped)


async def disk(target: Target, marks_stored: int) -> dict[str, object]:
    tables = await postgres_disk_bytes(target.database_url or "")
    topics = topic_disk_bytes(target.broker_log_dirs)
    per_schema: dict[str, int] = {}
    for name, size in tables.items():
        schema = name.split(".")[0]
        per_schema[schema] = per_schema.get(schema, 0) + size["table"] + size["indexes"]
    return {
        "tables": tables,
        "topics": topics,
        "bytes_per_schema": per_schema,
        "bytes_per_mark": {
            **{schema: round(total / max(marks_stored, 1)) for schema, total in per_schema.items()},
            "broker": round(sum(topics.values()) / max(marks_stored, 1)),
        },
    }


async def year_async(args: argparse.Namespace, target: Target) -> dict[str, object]:
    schools = make_schools(args.schools, args.pupils, args.seed)
    mis = mint_token(CommonSettings(), subject="bench-mis", role=Role.MIS, schools=[s.urn for s in schools])
    admin = mint_token(CommonSettings(), subject="bench-admin", role=Role.ADMIN)
    results: dict[str, object] = {"months": []}
    monthly: list[dict[str, object]] = results["months"]  # type: ignore[assignment]
    marks_stored = 0
    async with httpx.AsyncClient(
        base_url=target.urls["register"],
        headers={"Authorization": f"Bearer {mis}"},
        timeout=120,
        limits=client_limits(args.concurrency),
    ) as client:
        before = await _consumed(target, PUPIL_CONSUMERS, PUPILS)
        admitted = await set_up(client, Replay(schools, [], [], []), args.concurrency, args.bulk)
        if not await _caught_up(target, before, admitted, args.freshness_timeout, PUPILS):
            _warn(results, f"the consumers had not applied the set-up's {admitted:,} pupil events")
        if args.history:
            results["history"] = await fill_history(target.database_url or "", schools, args.seed, args.history)
            marks_stored = int(results["history"]["marks"])  # type: ignore[index]
        for month, days in months(school_year(schools, args.seed)):
            flat_days, paced_days = (days[:-1], days[-1:]) if args.rate and len(days) > 1 else (days, [])
            figures: dict[str, object] = {"month": month, "school_days": len([d for d in days if d.registers])}
            flat = [plan_day(d, args.bulk) for d in flat_days]
            watching = await _watch(target)
            consumed_before = await _consumed(target, OTHER_MARK_CONSUMERS)
            cpu_before = _cpu(target)
            times, accepted, started = await replay(client, flat, args.concurrency, f"{month} flat out")
            figures["ingest"] = ingest_figures(flat, times)
            if e2e := await _fresh(watching, accepted, started, args.freshness_timeout):
                figures["end_to_end"] = e2e
            if await _caught_up(target, consumed_before, records_of(accepted), args.freshness_timeout) and cpu_before:
                figures["cpu_flat_out"] = cpu_per_event(cpu_before, _cpu(target), marks_of(accepted))
            else:
                _warn(results, f"{month}: the consumers had not caught up; no CPU figure for the month")
            marks_stored += int(figures["ingest"]["marks"])  # type: ignore[index]
            if paced_days:
                paced = [plan_day(d, args.bulk) for d in paced_days]
                watching = await _watch(target)
                times, accepted, started = await replay(
                    client, paced, args.concurrency, f"{month} paced", rate=args.rate
                )
                figures["paced"] = paced_figures(args.rate, paced, times, accepted, started)
                if e2e := await _fresh(watching, accepted, started, args.freshness_timeout):
                    figures["paced"] |= e2e  # type: ignore[operator]
                marks_stored += int(figures["paced"]["marks"])  # type: ignore[index]
            last_day = days[-1].day
            figures["queries"] = await queries(target, admin, schools[0], TERMS[0].start, last_day, args.query_repeats)
            if target.pids:
                figures["resident_mb"] = resident_mb(target.pids)
            if target.database_url:
                figures["disk"] = await disk(target, marks_stored)
            figures["marks_stored"] = marks_stored
            monthly.append(figures)
            print(f"  {month_line(figures)}", file=sys.stderr, flush=True)
    if args.rebuild and target.database_url and target.analytics_env:
        print("  rebuilding analytics from the register's log into a new database", file=sys.stderr)
        results["rebuild"] = await rebuild_figures(
            target.database_url, target.analytics_env, target.urls["register"], target.kafka
        )
        rebuild = results["rebuild"]
        print(
            f"  rebuild: {rebuild['marks']:,} marks in {rebuild['events']:,} events in {rebuild['seconds']} s, "
            f"{rebuild['marks_per_second']:,} marks/s, {rebuild['share_of_raw_consume']:.0%} of the raw consume rate "
            f"({rebuild['raw_consume_per_second']:,} mark-sized records/s); equal to the live projection: "
            f"{all(rebuild['equal_to_live'].values())}",
            file=sys.stderr,
        )
    return results


def month_line(figures: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in zip(HEADER, row_of(figures), strict=True))


def row_of(figures: dict) -> tuple[str, ...]:
    """One month: what the README's year table shows."""
    ingest, e2e, paced = figures["ingest"], figures.get("end_to_end", {}), figures.get("paced", {})
    cpu, queried = figures.get("cpu_flat_out", {}), figures["queries"]
    memory = figures.get("resident_mb", {})
    on_disk = figures.get("disk", {})
    total = sum(on_disk.get("bytes_per_schema", {}).values()) + sum(on_disk.get("topics", {}).values())
    rate = e2e.get("end_to_end_marks_per_second")
    return (
        figures["month"],
        f"{figures['marks_stored']:,}",
        f"{ingest['marks_per_second']:,}",
        f"{rate:,}" if rate else "-",
        f"{e2e.get('freshness_p99_s', '-')}",
        f"{paced.get('freshness_p99_s', '-')}",
        f"{queried['school_summary']['p95_ms']}",
        f"{queried['flagged_list']['p95_ms']}",
        f"{queried['la_return_compile']['p95_ms']}",
        f"{cpu.get('stack_us_per_event', '-')} / {cpu.get('stack_over_client', '-')}",
        f"{max(memory.values(), default=0):.0f}",
        f"{total / 1e9:.2f}",
    )


HEADER = (
    "month",
    "marks stored",
    "ingest/s",
    "end to end/s",
    "fresh p99 s",
    "paced p99 s",
    "summary p95 ms",
    "flagged p95 ms",
    "LA return p95 ms",
    "CPU µs / x client",
    "max RSS MB",
    "disk GB",
)


def print_year(results: dict) -> None:
    rows = [row_of(figures) for figures in results["months"]]
    print("\n| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        print("| " + " | ".join(row) + " |")
