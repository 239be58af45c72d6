"""`python -m la_returns_service.retention`: remove the returns and reports past their period.

Run nightly (the CronJob `la-returns-retention`). A compiled return or a governor report is a
snapshot of register entries: it is kept 6 years from when it was compiled, as the entries it
copies are, and goes whole (a snapshot is never edited). `--dry-run` counts and removes
nothing; each run is recorded in `la_returns.retention_runs`. A pupil the register removes
whole is removed from the projections by the consumer.
"""

from attendance_shared.retention import RetentionRule, retention_job, retention_main
from attendance_shared.rules.retention import REGISTER_ENTRIES
from la_returns_service.models import meeting_actions, reports, retention_runs, return_rows, returns
from la_returns_service.settings import SERVICE_NAME, Settings

RULES = (
    RetentionRule(
        returns,
        returns.c.generated_at,
        REGISTER_ENTRIES,
        dependents=((return_rows, return_rows.c.return_id),),
        why="a return copies register entries as they stood: kept as long as they are",
    ),
    RetentionRule(
        reports,
        reports.c.generated_at,
        REGISTER_ENTRIES,
        dependents=((meeting_actions, meeting_actions.c.report_id),),
        why="a governor report or meeting pack copies register entries: kept as long as they are",
    ),
)


run_retention = retention_job(RULES, retention_runs)


def main() -> None:
    retention_main(SERVICE_NAME, Settings, run_retention, __doc__ or "")


if __name__ == "__main__":
    main()
