"""Time an LA attendance return: 100 schools of 1,000 pupils in one LA, through the real stack.

    .venv/bin/python -m attendance_bench.returns [--schools 100] [--pupils 1000] [--days 2]

Starts a fresh stack, admits the generated roll and replays `--days` school days of
registers through register-service, waits for analytics and la-returns to apply them, then
compiles the attendance return (`--repeats` times) and streams it as CSV and as JSON while
sampling la-returns' resident memory. Prints the figures and writes them to .bench/returns.json.
"""

import argparse
import asyncio
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from stdnum.gb import upn as stdnum_upn

from attendance_bench.__main__ import (
    Target,
    _fresh,
    _watch,
    bench_on_fresh_stack,
    client_limits,
    cut_year,
    plan_day,
    replay,
    set_up,
)
from attendance_bench.generator import make_schools
from attendance_bench.measures import resident_mb
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings

LA = "201"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--pupils", type=int, default=1000, help="per school")
    parser.add_argument("--days", type=int, default=2, help="school days of registers replayed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="compilations timed")
    parser.add_argument("--out", type=Path, default=Path(".bench/returns.json"))
    return parser.parse_args()


class MemorySampler:
    """Peak resident memory of one service while a block runs, sampled every 20 ms."""

    def __init__(self, service: str, pid: int) -> None:
        self._pids = {service: pid}
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, *resident_mb(self._pids).values())
            time.sleep(0.02)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def wait_for_la_returns(database_url: str, pupils: int, timeout_s: float = 600) -> None:
    """Until la-returns holds the roll (the registers it needs are analytics', waited for
    before this)."""
    engine = create_async_engine(database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                known = await conn.scalar(text("SELECT count(*) FROM la_returns.pupils"))
            if known >= pupils:
                return
            await asyncio.sleep(1)
        raise TimeoutError("la-returns did not apply the roll in time")
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace, target: Target) -> dict[str, object]:
    schools = make_schools(args.schools, args.pupils, args.seed)
    for school in schools:
        # One LA holding every school; the generator spreads schools over LA numbers, not
        # all of which are real ones a UPN may start with, so the UPNs move to this LA too.
        school.la_code = LA
        for pupil in school.pupils:
            body = LA + pupil.upn[4:]
            pupil.upn = stdnum_upn.calc_check_digit("X" + body) + body
    plan = cut_year(schools, args.seed, None, args.days, 0)
    days = [plan_day(d, 1) for d in plan.flat]
    mis = mint_token(CommonSettings(), subject="bench-mis", role=Role.MIS, schools=[s.urn for s in schools])
    officer = mint_token(CommonSettings(), subject="bench-la", role=Role.LA, la_code=LA)
    results: dict[str, object] = {"schools": args.schools, "pupils_per_school": args.pupils, "days": args.days}
    started = time.perf_counter()
    limits = client_limits(args.concurrency)
    async with httpx.AsyncClient(
        base_url=target.urls["register"], headers={"Authorization": f"Bearer {mis}"}, timeout=120, limits=limits
    ) as client:
        await set_up(client, plan, args.concurrency, 1)
        watching = await _watch(target)
        _, accepted, replay_started = await replay(client, days, args.concurrency, "replay")
        await _fresh(watching, accepted, replay_started, 600)
    assert target.database_url is not None
    await wait_for_la_returns(target.database_url, sum(len(s.pupils) for s in schools) // 2)
    results["setup_s"] = round(time.perf_counter() - started, 1)
    # Every service has just taken the whole roll as events, then a day of registers.
    results["resident_mb_after_setup"] = resident_mb(target.pids)
    period = {"from": plan.flat[0].day.isoformat(), "to": plan.flat[-1].day.isoformat()}
    auth = {"Authorization": f"Bearer {officer}"}
    async with httpx.AsyncClient(base_url=target.urls["la-returns"], headers=auth, timeout=300) as returns:
        timings, summary = [], {}
        for _ in range(args.repeats):
            began = time.perf_counter()
            response = await returns.post(f"/v1/las/{LA}/returns", json={"kind": "attendance", **period})
            response.raise_for_status()
            timings.append(time.perf_counter() - began)
            summary = response.json()
        results["compile_s"] = [round(t, 2) for t in timings]
        results["rows"] = summary["row_count"]
        for form, accept in (("csv", "text/csv"), ("json", "application/json")):
            before = resident_mb({"la-returns": target.pids["la-returns"]})["la-returns"]
            size = 0
            with MemorySampler("la-returns", target.pids["la-returns"]) as sampler:
                began = time.perf_counter()
                async with returns.stream(
                    "GET", f"/v1/las/{LA}/returns/{summary['id']}", headers={"Accept": accept}
                ) as fetched:
                    async for chunk in fetched.aiter_bytes():
                        size += len(chunk)
                seconds = time.perf_counter() - began
            results[form] = {
                "bytes": size,
                "seconds": round(seconds, 2),
                "rss_before_mb": before,
                "rss_peak_mb": round(sampler.peak, 1),
            }
    return results


def main() -> None:
    bench_on_fresh_stack("returns-bench-", parse_args(), run)


if __name__ == "__main__":
    main()
