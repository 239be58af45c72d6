"""Time the views leaders, governors and LA officers use, through the real stack:

    .venv/bin/python -m attendance_bench.leaders [--schools 100] [--pupils 1000] [--days 10]
        [--big-school 2000] [--term-days 60] [--cases 100] [--repeats 10]

1. An LA of `--schools` schools of `--pupils` pupils, `--days` school days of registers
   replayed: the LA's absence bands (and split by FSM), a band's first page of pupils, and the
   compare table, p50/p95.
2. A school of `--big-school` pupils with `--term-days` school days of the autumn term and
   `--cases` open support cases with plans: its bands, a pupil's explained answer, a governor
   report and a Targeting Support Meeting pack compiled (p50/p95) and fetched as PDF.

Starts a fresh stack; prints the figures and writes them to .bench/leaders.json.
"""

import argparse
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from attendance_bench.__main__ import _fresh, _watch, bench_on_fresh_stack, client_limits, cut_year
from attendance_bench.generator import make_schools
from attendance_bench.measures import latency, resident_mb
from attendance_bench.support import LA, in_la, on_roll, open_cases, replay_year, wait_for_pupils
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=100, help="schools of the LA")
    parser.add_argument("--pupils", type=int, default=1000, help="pupils per school of the LA")
    parser.add_argument("--days", type=int, default=10, help="school days of the LA's registers replayed")
    parser.add_argument("--big-school", type=int, default=2000, help="pupils of the school reported on")
    parser.add_argument("--term-days", type=int, default=60, help="school days of its registers replayed")
    parser.add_argument("--cases", type=int, default=100, help="open support cases at that school")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=10, help="requests per timed answer")
    parser.add_argument("--out", type=Path, default=Path(".bench/leaders.json"))
    return parser.parse_args()


async def run(args: argparse.Namespace, target: object) -> dict[str, object]:
    rng = random.Random(args.seed)
    la_schools = make_schools(args.schools, args.pupils, args.seed)
    (big,) = make_schools(1, args.big_school, args.seed + 1, first_urn=600000)
    in_la([*la_schools, big])
    settings = CommonSettings()
    urns = [s.urn for s in [*la_schools, big]]
    mis = mint_token(settings, subject="bench-mis", role=Role.MIS, schools=urns)
    staff = mint_token(settings, subject="bench-staff", role=Role.STAFF, schools=urns)
    officer = mint_token(settings, subject="bench-la", role=Role.LA, la_code=LA)
    results: dict[str, object] = {
        "la_schools": args.schools,
        "la_pupils_per_school": args.pupils,
        "la_days": args.days,
        "big_school_pupils": args.big_school,
        "big_school_days": args.term_days,
    }
    limits = client_limits(args.concurrency)
    began = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=target.urls["register"], headers={"Authorization": f"Bearer {mis}"}, timeout=120, limits=limits
    ) as register:
        watching = await _watch(target)
        started = time.monotonic()
        marks = await replay_year(register, [big], args.term_days, args)
        marks += await replay_year(register, la_schools, args.days, args)
        await _fresh(watching, [(time.monotonic(), marks)], started, 1800)
    results["setup_marks"] = marks
    staff_auth = {"Authorization": f"Bearer {staff}"}
    async with httpx.AsyncClient(base_url=target.urls["support"], headers=staff_auth, timeout=300) as support:
        await wait_for_pupils(support, big, on_roll(big))
        chosen = rng.sample([p.upn for p in big.pupils if p.left_on is None], args.cases)
        today = datetime.now(UTC).date()
        results["big_school_open_cases"] = await open_cases(support, big, chosen, [today] * len(chosen), args)
    results["setup_s"] = round(time.perf_counter() - began, 1)

    # Every answer is asked for the replayed days (the generator's 2025/26), not the default
    # of this academic year to date, which holds nothing.
    la_days = [d.day for d in cut_year(la_schools, args.seed, None, args.days, 0).flat]
    big_days = [d.day for d in cut_year([big], args.seed, None, args.term_days, 0).flat]
    la_period = {"from": str(la_days[0]), "to": str(la_days[-1])}
    big_period = {"from": str(big_days[0]), "to": str(big_days[-1])}
    results["la_period"], results["big_school_period"] = la_period, big_period
    officer_auth = {"Authorization": f"Bearer {officer}"}
    async with httpx.AsyncClient(base_url=target.urls["analytics"], headers=officer_auth, timeout=600) as analytics:
        la = f"/v1/las/{LA}"
        bands = await analytics.get(f"{la}/absence-bands", params=la_period)
        bands.raise_for_status()
        results["la"] = {
            "pupils_counted": bands.json()["pupils_counted"],
            "bands": await latency(lambda: analytics.get(f"{la}/absence-bands", params=la_period), args.repeats),
            "bands_by_fsm": await latency(
                lambda: analytics.get(f"{la}/absence-bands", params={**la_period, "group_by": "fsm_eligible"}),
                args.repeats,
            ),
            "band_pupils_first_500": await latency(
                lambda: analytics.get(f"{la}/absence-bands/pupils", params={**la_period, "band": "10-15"}), args.repeats
            ),
            "compare": await latency(lambda: analytics.get(f"{la}/compare", params=la_period), args.repeats),
        }
    async with httpx.AsyncClient(base_url=target.urls["analytics"], headers=staff_auth, timeout=600) as analytics:
        school = f"/v1/schools/{big.urn}"
        upn = on_roll(big)
        results["big_school"] = {
            "bands": await latency(lambda: analytics.get(f"{school}/absence-bands", params=big_period), args.repeats),
            "pupil_explained": await latency(
                lambda: analytics.get(f"{school}/pupils/{upn}/attendance", params=big_period), args.repeats
            ),
            "spells": await latency(lambda: analytics.get(f"{school}/absence-spells", params=big_period), args.repeats),
        }
        first_day = str(big_days[0])
    async with httpx.AsyncClient(base_url=target.urls["la-returns"], headers=staff_auth, timeout=600) as returns:
        reports = f"/v1/schools/{big.urn}/reports"
        on = {"on": first_day}
        timed: dict[str, object] = {}
        for kind in ("governor-report", "tsm-pack"):
            compiled = await returns.post(reports, json={"kind": kind, **on})
            compiled.raise_for_status()
            report_id = compiled.json()["id"]
            pdf = await returns.get(f"{reports}/{report_id}", headers={"Accept": "application/pdf"})
            timed[kind] = {
                "compile": await latency(lambda k=kind: returns.post(reports, json={"kind": k, **on}), args.repeats),
                "fetch_pdf": await latency(
                    lambda r=report_id: returns.get(f"{reports}/{r}", headers={"Accept": "application/pdf"}),
                    args.repeats,
                ),
                "pdf_bytes": len(pdf.content),
            }
        document = (await returns.get(f"{reports}/{report_id}")).json()["document"]
        timed["tsm_pack_lists"] = {
            "severe": len(document["pupils"]["severe_absence"]),
            "persistent": len(document["pupils"]["persistent_absence"]),
            "with_a_case": sum(
                1 for part in ("severe_absence", "persistent_absence") for p in document["pupils"][part] if p["case"]
            ),
        }
        results["reports"] = timed
    results["resident_mb"] = resident_mb(target.pids)
    return results


def main() -> None:
    bench_on_fresh_stack("leaders-bench-", parse_args(), run)


if __name__ == "__main__":
    main()
