"""`python -m register_service.retention`: remove the register entries past their 6 years.

Run nightly (the CronJob `register-retention` in deploy/k8s). An attendance or admission
register entry is kept for 6 years from the day it was made (the 2024 registration
regulations); then the job removes it, with the events that copied it from the outbox. A pupil
who is off roll and none of whose entries is still kept is removed whole, and every other
service is told (`uk.attendance.pupil.records-removed.v1`) and removes what it keeps of them.

`--dry-run` counts what a run would remove and removes nothing. Every run, dry or not, is
recorded in `register.retention_runs` with its counts.
"""

from attendance_shared.retention import retention_main
from register_service.service.retention import run_retention
from register_service.settings import SERVICE_NAME, Settings


def main() -> None:
    retention_main(SERVICE_NAME, Settings, run_retention, __doc__ or "")


if __name__ == "__main__":
    main()
