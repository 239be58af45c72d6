"""New-pupil and deletion returns (reg 13): who must be returned, by when. Pure: no I/O."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Due "by the end of the 5th day after" the name is entered in the admission register.
NEW_PUPIL_RETURN_DAYS = 5
RECEPTION = "R"
# Year groups from the most junior to the most senior, as the register accepts them.
YEAR_GROUP_ORDER = ("N1", "N2", "R", *(str(n) for n in range(1, 15)))


def new_pupil_due_on(entered_on: date) -> date:
    """The last day (inclusive) on which the new-pupil return is on time."""
    return entered_on + timedelta(days=NEW_PUPIL_RETURN_DAYS)


def is_overdue(due_on: date, today: date) -> bool:
    return today > due_on


def _rank(year_group: str) -> int:
    return YEAR_GROUP_ORDER.index(year_group) if year_group in YEAR_GROUP_ORDER else len(YEAR_GROUP_ORDER)


def most_junior(year_groups: Iterable[str]) -> str | None:
    return min(year_groups, key=_rank, default=None)


def most_senior(year_groups: Iterable[str]) -> str | None:
    return max(year_groups, key=_rank, default=None)


@dataclass(frozen=True, slots=True)
class ReceptionOptIn:
    """An LA that asked for first-day pupils of the most junior class too: from when."""

    opted_in_at: datetime | None


def is_first_day_junior_exempt(
    *,
    year_group: str,
    admission_date: date,
    recorded_at: datetime,
    junior_year_group: str | None,
    first_day_of_year: date | None,
    opt_in: ReceptionOptIn,
) -> bool:
    """Exempt from the new-pupil return: placed in the most junior class (reception, or the
    school's lowest year group) and starting on the first day of the school year, unless the
    LA had asked for such pupils before this one was entered (then every later one is
    returned). Without the school's calendar the first day is unknown, so nobody is exempt."""
    junior = year_group in (RECEPTION, junior_year_group)
    if not junior or first_day_of_year is None or admission_date != first_day_of_year:
        return False
    return opt_in.opted_in_at is None or recorded_at < opt_in.opted_in_at


def is_deletion_exempt(
    *, year_group: str, left_on: date, senior_year_group: str | None, last_day_of_year: date | None
) -> bool:
    """No deletion return for a pupil of the most senior class who leaves at or after the end
    of its final year. Without the school's calendar that end is unknown: the return is made."""
    if senior_year_group is None or year_group != senior_year_group or last_day_of_year is None:
        return False
    return left_on >= last_day_of_year
