"""Where each service spends its CPU during the flat-out replay: `--profile DIR`.

py-spy samples every service process (and its workers) without pausing it, as issue 28's
part 5 asks before any cut; the folded stacks are kept in DIR (`<service>.txt`, one line a
stack, readable by flamegraph.pl or speedscope) and, into the result, the entry points the
samples came in by (an API route, a worker) and the functions holding most samples, by their
own time and with what they call. Idle threads are not sampled, so the shares are of the
CPU a process used, not of the wall clock.

PostgreSQL's side comes from `pg_stat_statements` (the bench starts its server with it loaded
when profiling): the statements that took most of its time over the same run, with their
calls, rows and WAL, every service's in one list, as they share the server.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from attendance_bench.measures import postgres

SAMPLES_PER_SECOND = 100
TOP = 25
STATEMENTS = 15
# Loaded at the server's start: `pg_stat_statements` cannot be added to a running one.
POSTGRES_CONFIG = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.max": "2000"}
# Our own packages' frames: the inclusive list keeps to them, since every sample also sits
# under uvicorn's, click's and asyncio's start-up frames, which say nothing.
OWN_FRAME = re.compile(r"\((attendance_shared|\w+_service)/")
# Where a sample's work came in: an API route's function, or the worker a service runs
# (its consumer, outbox relay, dispatcher...), which `Workers._supervise` starts.
ROUTE_FRAME = re.compile(r"\(\w+_service/api/")
WORKERS_FRAME = "Workers._supervise "
ELSEWHERE = "elsewhere: the event loop, HTTP and middleware, SQLAlchemy's greenlets, start-up"


@dataclass
class Profiler:
    folder: Path
    pids: dict[str, int]
    database_url: str | None = None
    _running: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    _statements: bool = False  # pg_stat_statements loaded and reset

    async def start(self) -> None:
        if self.database_url:
            async with postgres(self.database_url) as connection:
                # Not on a server the bench did not start (the tests' stack): services only.
                self._statements = "pg_stat_statements" in await connection.fetchval("SHOW shared_preload_libraries")
                if self._statements:
                    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                    await connection.execute("SELECT pg_stat_statements_reset()")
        self.folder.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for service, pid in self.pids.items():
            command = [
                str(spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--format", "raw",
                "--rate", str(SAMPLES_PER_SECOND), "--function", "--output", str(self.folder / f"{service}.txt"),
            ]  # fmt: skip
            self._running[service] = await asyncio.create_subprocess_exec(
                *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )

    async def stop(self) -> dict[str, object]:
        """Stop sampling (py-spy writes its file on SIGINT) and summarise each service."""
        for process in self._running.values():
            process.send_signal(signal.SIGINT)
        summary: dict[str, object] = {"folder": str(self.folder)}
        for service, process in self._running.items():
            _, errors = await asyncio.wait_for(process.communicate(), 60)
            folded = self.folder / f"{service}.txt"
            if not folded.exists():
                summary[service] = {"error": errors.decode(errors="replace").strip()[-500:]}
                continue
            summary[service] = top_functions(folded.read_text())
        self._running.clear()
        if self._statements and self.database_url:
            summary["postgres"] = await top_statements(self.database_url)
        return summary


async def top_statements(database_url: str, top: int = STATEMENTS) -> dict[str, object]:
    """The statements that took most of PostgreSQL's time since the reset, as
    `pg_stat_statements` counts it (execution time, so waits for locks and I/O count too)."""
    async with postgres(database_url) as connection:
        rows = await connection.fetch(
            "SELECT query, calls, rows, total_exec_time, wal_bytes FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC"
        )
    total_ms = sum(r["total_exec_time"] for r in rows) or 1.0
    return {
        "total_ms": round(total_ms),
        "statements": [
            {
                "query": " ".join(r["query"].split())[:300],
                "calls": r["calls"],
                "rows": r["rows"],
                "ms": round(r["total_exec_time"]),
                "share": round(r["total_exec_time"] / total_ms, 4),
                "wal_bytes": int(r["wal_bytes"]),
            }
            for r in rows[:top]
        ],
    }


def top_functions(folded: str, top: int = TOP) -> dict[str, object]:
    """The functions holding most samples in py-spy's folded stacks (`a;b;c 12` per line):
    by their own time (the stack's last frame), and ours by their total (anywhere on the
    stack, counted once a sample); and the entry points the samples came in by (an API route,
    a worker), which says what a request of one kind costs against the marks it brings."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    samples = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        # The first frame is the process (and thread) py-spy names, not a function.
        frames = [f for f in frames[1:] if f] if frames and frames[0].startswith("process ") else frames
        if not frames:
            continue
        samples += n
        own[frames[-1]] += n
        for name in {f for f in frames if OWN_FRAME.search(f)}:
            total[name] += n
        entries[_entry(frames)] += n

    def shares(counter: Counter[str]) -> list[list[object]]:
        return [[name, round(n / samples, 4)] for name, n in counter.most_common(top)]

    if not samples:
        return {"samples": 0}
    return {"samples": samples, "entries": shares(entries), "own": shares(own), "total": shares(total)}


def _entry(frames: list[str]) -> str:
    for i, frame in enumerate(frames):
        if ROUTE_FRAME.search(frame):
            return frame
        if frame.startswith(WORKERS_FRAME) and i + 1 < len(frames):
            return frames[i + 1]
    return ELSEWHERE


def print_profile(summary: dict[str, object], top: int = 12) -> None:
    print(f"\nprofile (py-spy folded stacks in {summary['folder']}):")
    for service, figures in summary.items():
        if service in ("folder", "postgres") or not isinstance(figures, dict):
            continue
        if "error" in figures:
            print(f"  {service}: py-spy failed: {figures['error']}")
            continue
        print(f"  {service}: {figures['samples']:,} samples; by entry point")
        for name, share in figures.get("entries", [])[:top]:
            print(f"    {share:6.1%}  {name}")
        print("   by own time")
        for name, share in figures.get("own", [])[:top]:
            print(f"    {share:6.1%}  {name}")
    if statements := summary.get("postgres"):
        print(f"  postgres: {statements['total_ms']:,} ms in statements; most of it in")  # type: ignore[index]
        for row in statements["statements"][:top]:  # type: ignore[index]
            print(f"    {row['share']:6.1%}  {row['calls']:>8,} calls  {row['query'][:100]}")
