"""`python -m analytics_service.retention`: remove what analytics keeps past its period.

Run nightly (the CronJob `analytics-retention`). A pupil's figures for a school year are
drawn from that year's register entries, so they go 6 years after the last of them, as the
entries do; the published flag events go after a month. `--dry-run` counts and removes
nothing; each run is recorded in `analytics.retention_runs`. A pupil the register removes
whole is removed from analytics by its consumer (`uk.attendance.pupil.records-removed.v1`).
"""

from analytics_service.models import outbox, pupil_years, retention_runs
from analytics_service.settings import SERVICE_NAME, Settings
from attendance_shared.retention import (
    RetentionRule,
    published_events,
    retention_job,
    retention_main,
)
from attendance_shared.rules.retention import REGISTER_ENTRIES

RULES = (
    RetentionRule(
        pupil_years,
        pupil_years.c.latest_date,
        REGISTER_ENTRIES,
        why="a year's figures and codes copy that year's register entries: kept as long as they are",
    ),
    published_events(outbox, record="the flags"),
)


run_retention = retention_job(RULES, retention_runs)


def main() -> None:
    retention_main(SERVICE_NAME, Settings, run_retention, __doc__ or "")


if __name__ == "__main__":
    main()
