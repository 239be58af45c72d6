"""How long records are kept: the one place every service's retention job reads it from.

The School Attendance (Pupil Registration) (England) Regulations 2024 keep every entry of the
admission and attendance registers for 6 years from the date it was entered. UK GDPR's
storage limitation keeps personal data no longer than needed, so once that period is over
the entry is removed, and a pupil no register entry still refers to is removed from every
service (deploy/README.md, "How long records are kept").
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from attendance_shared.clock import SCHOOL_TIME_ZONE, add_years

REGISTER_RETENTION_YEARS = 6


def register_entry_kept(entered_on: date, today: date) -> bool:
    """Whether a register entry made on `entered_on` must still be kept on `today`: for 6
    years from that date, the anniversary included."""
    return today <= add_years(entered_on, REGISTER_RETENTION_YEARS)


def oldest_register_date_kept(today: date) -> date:
    """The earliest date an entry still kept on `today` can have been made: entries made
    before it are past their period."""
    candidate = add_years(today, -REGISTER_RETENTION_YEARS)
    # 29 February six years on is a 28 February: an entry of the 28th then ends its period
    # the day before, and the 1 March is the first date kept.
    while not register_entry_kept(candidate, today):
        candidate += timedelta(days=1)
    return candidate


def start_of_day_in_england(day: date) -> datetime:
    """Midnight at the start of `day` in England, in UTC: a timestamp before it was made on
    an earlier day there."""
    return datetime.combine(day, time(0), tzinfo=SCHOOL_TIME_ZONE).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RetentionCutoff:
    """What a retention run on `today` removes: what was entered before `kept_from`."""

    today: date
    kept_from: date

    @classmethod
    def register_entries(cls, today: date) -> "RetentionCutoff":
        return cls(today=today, kept_from=oldest_register_date_kept(today))

    @property
    def kept_from_instant(self) -> datetime:
        return start_of_day_in_england(self.kept_from)
