"""Time parents' summaries for a large school through the real stack, and its letters by post:

    .venv/bin/python -m attendance_bench.summaries [--pupils 2000] [--letters 500]
        [--second-parents 1000] [--days 38] [--repeats 3]

A school of `--pupils` pupils has the first half of the autumn term of registers replayed
(`--days` school days). Each pupil has a parent at home: `--letters` of them with neither
e-mail nor phone (a letter home), the rest with an e-mail address; `--second-parents` pupils
also have a parent living elsewhere with parental responsibility and an e-mail address. So
2,000 pupils make 3,000 recipients, 500 of them by post.

Measured: the preview of the batch (p50/p95), planning and storing it (POST
/attendance-summaries), sending every e-mail through a real SMTP server (aiosmtpd, in this
process) until the last arrives, and the print run of the letters (time and PDF size).

Starts a fresh stack; prints the figures and writes them to .bench/summaries.json.
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

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
from attendance_bench.measures import latency, marks_of, resident_mb
from attendance_shared.auth import Role, mint_token
from attendance_shared.settings import CommonSettings
from attendance_stack.processes import free_port

PERIOD = "2025-autumn-2025-1"  # the generator's calendar: 1 September to the half-term on 27 October


class CountingMailbox:
    """A real SMTP server's handler that counts what arrives, and when the last did."""

    def __init__(self) -> None:
        self.received = 0
        self.last_at = 0.0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.received += 1
        self.last_at = time.perf_counter()
        return "250 OK"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--letters", type=int, default=500, help="pupils whose parent has no e-mail or phone")
    parser.add_argument("--second-parents", type=int, default=1000, help="pupils with a second parent elsewhere")
    parser.add_argument("--days", type=int, default=38, help="school days of registers replayed")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="previews timed")
    parser.add_argument("--out", type=Path, default=Path(".bench/summaries.json"))
    return parser.parse_args()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace, target: Target, mailbox: CountingMailbox) -> dict[str, object]:
    (school,) = make_schools(1, args.pupils, args.seed, first_urn=700000)
    for index, pupil in enumerate(school.pupils):
        home = {"name": f"Parent {index}", "relationship": "parent"}
        if index >= args.letters:
            home["email"] = f"parent{index}@example.org"
        contacts = [home]
        if index % 2 and index // 2 < args.second_parents:
            contacts.append(
                {
                    "name": f"Other parent {index}",
                    "email": f"other{index}@example.org",
                    "lives_with_pupil": False,
                    "parental_responsibility": True,
                }
            )
        pupil.record["contacts"] = contacts
    settings = CommonSettings()
    mis = mint_token(settings, subject="bench-mis", role=Role.MIS, schools=[school.urn])
    staff = mint_token(settings, subject="bench-staff", role=Role.STAFF, schools=[school.urn])
    results: dict[str, object] = {"pupils": args.pupils, "days": args.days}
    began = time.perf_counter()
    limits = client_limits(args.concurrency)
    async with httpx.AsyncClient(
        base_url=target.urls["register"], headers={"Authorization": f"Bearer {mis}"}, timeout=120, limits=limits
    ) as register:
        watching = await _watch(target)
        started = time.monotonic()
        plan = cut_year([school], args.seed, None, args.days, 0)
        await set_up(register, plan, args.concurrency, 1)
        _, accepted, _ = await replay(register, [plan_day(d, 1) for d in plan.flat], args.concurrency, "replay")
        await _fresh(watching, accepted, started, 900)
        results["marks"] = marks_of(accepted)
    auth = {"Authorization": f"Bearer {staff}"}
    base = f"{target.urls['notification']}/v1/schools/{school.urn}"
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=600) as notification:
        last_day = plan.flat[-1].day
        admitted = [p.upn for p in school.pupils if p.admission_date <= last_day]
        for upn in admitted:  # every pupil the replay admitted has reached notification

            async def projected(upn: str = upn) -> bool:
                found = await notification.get(f"/pupils/{upn}/contact-preferences")
                return found.status_code == 200 and bool(found.json()["contacts"])

            await wait_until(projected, f"notification to have pupil {upn}")
        results["setup_s"] = round(time.perf_counter() - began, 1)
        preview = (await notification.get("/attendance-summaries/preview", params={"period": PERIOD})).json()
        results["batch"] = {k: preview[k] for k in ("pupils", "pupils_without_sessions", "messages", "by_channel")}
        results["batch"]["by_tone"] = preview["by_tone"]  # type: ignore[index]
        results["preview"] = await latency(
            lambda: notification.get("/attendance-summaries/preview", params={"period": PERIOD, "limit": 100}),
            args.repeats,
        )
        emails = preview["by_channel"].get("email", 0)
        planned_at = time.perf_counter()
        sent = await notification.post("/attendance-summaries", json={"period": PERIOD})
        sent.raise_for_status()
        stored_at = time.perf_counter()

        async def delivered() -> bool:
            return mailbox.received >= emails

        await wait_until(delivered, f"{emails} e-mails")
        results["plan_and_store_s"] = round(stored_at - planned_at, 2)
        results["messages_stored"] = sent.json()["messages"]
        results["send_all_emails_s"] = round(mailbox.last_at - stored_at, 2)
        results["emails_per_s"] = round(emails / max(mailbox.last_at - stored_at, 1e-9), 1)
        results["plan_to_last_email_s"] = round(mailbox.last_at - planned_at, 2)
        printed_at = time.perf_counter()
        run_made = await notification.post("/print-runs")
        run_made.raise_for_status()
        results["print_run"] = {
            "letters": run_made.json()["letters"],
            "seconds": round(time.perf_counter() - printed_at, 2),
        }
        pdf = await notification.get(f"/print-runs/{run_made.json()['id']}", headers={"Accept": "application/pdf"})
        results["print_run"]["pdf_bytes"] = len(pdf.content)  # type: ignore[index]
    results["resident_mb"] = resident_mb(target.pids)
    return results


def main() -> None:
    args = parse_args()
    mailbox = CountingMailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        smtp_env = {
            "NOTIFICATION_SMTP_HOST": "127.0.0.1",
            "NOTIFICATION_SMTP_PORT": str(port),
            "NOTIFICATION_SMTP_STARTTLS": "false",
            "NOTIFICATION_SUMMARIES_SCHEDULED": "false",
        }
        bench_on_fresh_stack("summaries-bench-", args, lambda a, target: run(a, target, mailbox), extra_env=smtp_env)
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
