"""`python -m register_service.retention`: remove the register entries past their 6 years.

Run daily (the CronJob `register-retention` in deploy/k8s). An attendance or admission register
entry is kept for 6 years from the day it was made (the 2024 registration regulations); after
that the job removes it, with the events that copied it from the outbox. A pupil who is off
roll and none of whose entries is still kept is removed whole, and every other service is told
(`uk.attendance.pupil.records-removed.v1`) and removes what it keeps of them.

`--dry-run` counts what a run would remove and removes nothing. Every run, dry or not, is
recorded in `register.retention_runs` with its counts.
"""

import argparse
import asyncio
from datetime import date

from attendance_shared.clock import today_in_england
from attendance_shared.db import make_engine, make_sessionmaker
from register_service.service.retention import RetentionReport, run_retention
from register_service.settings import SERVICE_NAME, Settings


async def retain(settings: Settings, *, today: date, dry_run: bool, batch_size: int) -> RetentionReport:
    engine = make_engine(settings.database_url, service=f"{SERVICE_NAME}-retention")
    try:
        return await run_retention(make_sessionmaker(engine), today=today, dry_run=dry_run, batch_size=batch_size)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="count what would be removed; remove nothing")
    parser.add_argument("--batch-size", type=int, default=500, help="pupils a transaction (ten times as many rows)")
    parser.add_argument(
        "--on",
        type=date.fromisoformat,
        default=None,
        help="run as on this day (YYYY-MM-DD) instead of today; a later day is refused in production",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    today = today_in_england()
    on = args.on or today
    if on > today and settings.environment == "production":
        parser.error(f"--on {on} is after today: it would remove entries the law still keeps")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    report = asyncio.run(retain(settings, today=on, dry_run=args.dry_run, batch_size=args.batch_size))
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
