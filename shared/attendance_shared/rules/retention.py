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


@dataclass(frozen=True, slots=True)
class Period:
    """How long a record is kept from the day it was made: the last day kept is the day `years`
    years and `days` days on, the anniversary included."""

    years: int = 0
    days: int = 0

    def kept(self, made_on: date, today: date) -> bool:
        return today <= add_years(made_on, self.years) + timedelta(days=self.days)

    def oldest_date_kept(self, today: date) -> date:
        """The earliest day a record still kept on `today` can have been made on: records
        made before it are past their period."""
        candidate = add_years(today, -self.years) - timedelta(days=self.days)
        # 29 February six years on is a 28 February: a record of the 28th then ends its
        # period the day before, and 1 March is the first day kept.
        while not self.kept(candidate, today):
            candidate += timedelta(days=1)
        return candidate

    def kept_from(self, today: date) -> datetime:
        """The instant before which a record made is past its period on `today`."""
        return start_of_day_in_england(self.oldest_date_kept(today))


REGISTER_ENTRIES = Period(years=REGISTER_RETENTION_YEARS)


def register_entry_kept(entered_on: date, today: date) -> bool:
    """Whether a register entry made on `entered_on` must still be kept on `today`: for 6
    years from that date, the anniversary included."""
    return REGISTER_ENTRIES.kept(entered_on, today)


def oldest_register_date_kept(today: date) -> date:
    return REGISTER_ENTRIES.oldest_date_kept(today)


def start_of_day_in_england(day: date) -> datetime:
    """Midnight at the start of `day` in England, in UTC: a timestamp before it was made on
    an earlier day there."""
    return datetime.combine(day, time(0), tzinfo=SCHOOL_TIME_ZONE).astimezone(UTC)
