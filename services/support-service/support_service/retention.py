"""`python -m support_service.retention`: remove what support keeps past its period.

Run nightly (the CronJob `support-retention`). The published case events go after a month;
the cases are the record. Casework stays while the register keeps any entry of the pupil:
the consumer removes it with the pupil (`uk.attendance.pupil.records-removed.v1`), all but
the penalty notices and supervision orders the LA must keep. `--dry-run` counts and removes
nothing; each run is recorded in `support.retention_runs`.
"""

from attendance_shared.retention import (
    published_events,
    retention_job,
    retention_main,
)
from support_service.models import outbox, retention_runs
from support_service.settings import SERVICE_NAME, Settings

RULES = (published_events(outbox, record="the cases"),)


run_retention = retention_job(RULES, retention_runs)


def main() -> None:
    retention_main(SERVICE_NAME, Settings, run_retention, __doc__ or "")


if __name__ == "__main__":
    main()
