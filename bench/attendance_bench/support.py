"""Time support-service's three heavy answers through the real stack:

    .venv/bin/python -m attendance_bench.support [--schools 100] [--pupils 100] [--days 65]
        [--big-school 2000] [--cases 500] [--repeats 20]

1. The open cases list of a 2,000-pupil school with `--cases` open cases, each with a plan
   and two contacts: p50/p95 of the first page (100), a 500 page, the overdue-action filter
   and the CSV.
2. The evidence pack of a pupil of that school over a whole year of marks (the big school's
   registers are replayed for the year): JSON and PDF, p50/p95.
3. The impact report of an LA of `--schools` schools of `--pupils` pupils, `--days` school
   days of registers replayed, and a plan with an action for one pupil in twenty, started in
   the replay's 7th to 9th school week.

Starts a fresh stack; prints the figures and writes them to .bench/support.json.
"""

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from stdnum.gb import upn as stdnum_upn

from attendance_bench.__main__ import (
    Progress,
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
from attendance_bench.generator import School, make_schools
from attendance_bench.measures import latency, marks_of, resident_mb
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings

LA = "201"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=100, help="schools of the LA for the impact report")
    parser.add_argument("--pupils", type=int, default=100, help="pupils per school of the LA")
    parser.add_argument("--days", type=int, default=65, help="school days of the LA's registers replayed")
    parser.add_argument("--big-school", type=int, default=2000, help="pupils of the school whose cases are listed")
    parser.add_argument("--cases", type=int, default=500, help="open cases at the big school")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20, help="requests per timed answer")
    parser.add_argument("--out", type=Path, default=Path(".bench/support.json"))
    return parser.parse_args()


def in_la(schools: list[School]) -> None:
    """Every school in one LA; UPNs move to that LA's number too (the generator spreads them)."""
    for school in schools:
        school.la_code = LA
        for pupil in school.pupils:
            body = LA + pupil.upn[4:]
            pupil.upn = stdnum_upn.calc_check_digit("X" + body) + body


async def replay_year(client: httpx.AsyncClient, schools: list[School], days: int, args: argparse.Namespace) -> int:
    plan = cut_year(schools, args.seed, None, days, 0)
    await set_up(client, plan, args.concurrency, 1)
    _, accepted, _ = await replay(client, [plan_day(d, 1) for d in plan.flat], args.concurrency, "replay")
    return marks_of(accepted)


async def open_cases(
    support: httpx.AsyncClient, school: School, upns: list[str], started: list, args: argparse.Namespace
) -> int:
    """A case, a plan with one action and two contacts for each pupil; returns cases opened
    (pupils who left during the year cannot have one)."""
    gate = asyncio.Semaphore(args.concurrency)
    progress = Progress(f"cases {school.urn}", len(upns))
    opened = 0

    async def one(upn: str, starts_on: object) -> None:
        nonlocal opened
        async with gate:
            body = {"upn": upn, "lead": "Ms Reid", "reason": "bench", "stage": "facilitate_support"}
            response = await support.post(f"/v1/schools/{school.urn}/support-cases", json=body)
            progress.step()
            if response.status_code == 422:
                return  # not on roll any more
            response.raise_for_status()
            case = f"/v1/schools/{school.urn}/support-cases/{response.json()['id']}"
            opened += 1
            action = {"type": "mentoring", "what": "Weekly mentor", "owner": "Mr Hale", "due_on": str(starts_on)}
            plan = {"target_attendance_percent": 95, "starts_on": str(starts_on), "actions": [action]}
            (await support.post(f"{case}/plans", json=plan)).raise_for_status()
            for hours in (30, 6):
                contact = {
                    "kind": "call",
                    "happened_at": (datetime.now(UTC) - timedelta(hours=hours)).isoformat(),
                    "made_by": "Ms Reid",
                    "with_whom": "parent",
                    "outcome": "spoke about mornings",
                }
                (await support.post(f"{case}/contacts", json=contact)).raise_for_status()

    await asyncio.gather(*(one(upn, start) for upn, start in zip(upns, started, strict=True)))
    return opened


def on_roll(school: School) -> str:
    """A pupil the generator never deletes: on roll today, so a case may be opened."""
    return next(p.upn for p in school.pupils if p.left_on is None)


async def wait_for_pupils(support: httpx.AsyncClient, school: School, upn: str, timeout_s: float = 600) -> None:
    """Until support-service has the school's roll: opening a case needs the pupil on roll.
    The probe's case is closed again at once."""
    deadline = time.monotonic() + timeout_s
    body = {"upn": upn, "lead": "probe", "reason": "probe"}
    while time.monotonic() < deadline:
        tried = await support.post(f"/v1/schools/{school.urn}/support-cases", json=body)
        if tried.status_code == 201:
            case = f"/v1/schools/{school.urn}/support-cases/{tried.json()['id']}"
            (await support.post(f"{case}/close", json={"outcome": "other"})).raise_for_status()
            return
        await asyncio.sleep(1)
    raise TimeoutError(f"support-service never had pupil {upn}")


async def run(args: argparse.Namespace, target: Target) -> dict[str, object]:
    rng = random.Random(args.seed)
    la_schools = make_schools(args.schools, args.pupils, args.seed)
    (big,) = make_schools(1, args.big_school, args.seed + 1, first_urn=600000)
    in_la([*la_schools, big])
    settings = CommonSettings()
    mis = mint_token(settings, subject="bench-mis", role=Role.MIS, schools=[s.urn for s in [*la_schools, big]])
    staff = mint_token(settings, subject="bench-staff", role=Role.STAFF, schools=[s.urn for s in [*la_schools, big]])
    officer = mint_token(settings, subject="bench-la", role=Role.LA, la_code=LA)
    results: dict[str, object] = {
        "la_schools": args.schools,
        "la_pupils_per_school": args.pupils,
        "la_days": args.days,
        "big_school_pupils": args.big_school,
    }
    limits = client_limits(args.concurrency)
    began = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=target.urls["register"], headers={"Authorization": f"Bearer {mis}"}, timeout=120, limits=limits
    ) as register:
        watching = await _watch(target)
        started = time.monotonic()
        marks = await replay_year(register, [big], 190, args)
        marks += await replay_year(register, la_schools, args.days, args)
        await _fresh(watching, [(time.monotonic(), marks)], started, 900)
    results["setup_marks"] = marks
    auth = {"Authorization": f"Bearer {staff}"}
    async with httpx.AsyncClient(base_url=target.urls["support"], headers=auth, timeout=300, limits=limits) as support:
        # The big school: open cases with plans and contacts, then its list.
        await wait_for_pupils(support, big, on_roll(big))
        chosen = rng.sample([p.upn for p in big.pupils], min(args.cases, len(big.pupils)))
        today = datetime.now(UTC).date()
        results["big_school_open_cases"] = await open_cases(support, big, chosen, [today] * len(chosen), args)
        cases = f"/v1/schools/{big.urn}/support-cases"
        results["open_cases_list"] = {
            "first_page_100": await latency(lambda: support.get(cases), args.repeats),
            "page_500": await latency(lambda: support.get(cases, params={"limit": 500}), args.repeats),
            "overdue_action": await latency(lambda: support.get(cases, params={"overdue": "action"}), args.repeats),
            "csv_500": await latency(
                lambda: support.get(cases, params={"limit": 500}, headers={"Accept": "text/csv"}), args.repeats
            ),
        }
        # A year of marks in one pupil's evidence pack.
        case_id = (await support.get(cases, params={"limit": 1})).json()["items"][0]["id"]
        pack = f"{cases}/{case_id}/evidence-pack"
        year = {"from": "2025-09-01", "to": "2026-07-31"}
        results["evidence_pack_year"] = {
            "json": await latency(lambda: support.get(pack, params=year), args.repeats),
            "pdf": await latency(
                lambda: support.get(pack, params=year, headers={"Accept": "application/pdf"}), args.repeats
            ),
            "pdf_bytes": len((await support.get(pack, params=year, headers={"Accept": "application/pdf"})).content),
        }
        # The LA: a plan for one pupil in twenty, started in the 7th to 9th school week.
        plan = cut_year(la_schools, args.seed, None, args.days, 0)
        school_days = [d.day for d in plan.flat]
        opened = 0
        for school in la_schools:
            await wait_for_pupils(support, school, on_roll(school))
            upns = [p.upn for p in school.pupils if rng.random() < 0.05]
            starts = [school_days[min(len(school_days) - 1, rng.randrange(30, 45))] for _ in upns]
            opened += await open_cases(support, school, upns, starts, args)
        results["la_plans"] = opened
    async with httpx.AsyncClient(
        base_url=target.urls["support"], headers={"Authorization": f"Bearer {officer}"}, timeout=600
    ) as la:
        window = {"from": str(school_days[0]), "to": str(school_days[-1]), "weeks": 6}
        report = await la.get(f"/v1/las/{LA}/support-impact", params=window)
        report.raise_for_status()
        results["impact_la"] = {
            **await latency(lambda: la.get(f"/v1/las/{LA}/support-impact", params=window), max(3, args.repeats // 5)),
            "rows": report.json()["rows"],
        }
    results["setup_s"] = round(time.perf_counter() - began, 1)
    results["resident_mb"] = resident_mb(target.pids)
    return results


def main() -> None:
    bench_on_fresh_stack("support-bench-", parse_args(), run)


if __name__ == "__main__":
    main()
