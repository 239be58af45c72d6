"""`python -m notification_service.retention`: remove what notification keeps past its period.

Run nightly (the CronJob `notification-retention`). A message to parents about an absence,
with its delivery attempts, is evidence at a penalty notice or a prosecution: it is kept 6
years, as the register entries it is about are; so are the print runs and summary batches
that sent letters. The published outcome events go after a month. `--dry-run` counts and
removes nothing; each run is recorded in `notification.retention_runs`. A pupil the register
removes whole is removed from notification by its consumer.
"""

from attendance_shared.retention import (
    RetentionRule,
    published_events,
    retention_job,
    retention_main,
)
from attendance_shared.rules.retention import REGISTER_ENTRIES
from notification_service.models import delivery_attempts, messages, outbox, print_runs, retention_runs, summary_batches
from notification_service.settings import SERVICE_NAME, Settings

RULES = (
    RetentionRule(
        messages,
        messages.c.created_at,
        REGISTER_ENTRIES,
        dependents=((delivery_attempts, delivery_attempts.c.message_id),),
        why="what parents were told about absences, and when: evidence kept as long as the entries it is about",
    ),
    RetentionRule(print_runs, print_runs.c.created_at, REGISTER_ENTRIES, why="the letters a run sent: as messages"),
    RetentionRule(
        summary_batches, summary_batches.c.started_at, REGISTER_ENTRIES, why="which summaries went out: as messages"
    ),
    published_events(outbox, record="the messages"),
)


run_retention = retention_job(RULES, retention_runs)


def main() -> None:
    retention_main(SERVICE_NAME, Settings, run_retention, __doc__ or "")


if __name__ == "__main__":
    main()
