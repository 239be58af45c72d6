"""Periods of returns: which are valid, and which a schedule is due to compile. Pure."""

from datetime import date, timedelta
from typing import Literal

Frequency = Literal["daily", "weekly", "monthly"]


# Nothing older is held: the platform's registers start long after this.
EARLIEST_PERIOD_START = date(2000, 8, 1)


def period_problem(start: date, end: date, today: date) -> str | None:
    if start < EARLIEST_PERIOD_START:
        return f"the period starts before {EARLIEST_PERIOD_START.isoformat()}, earlier than any register held"
    if end < start:
        return "the period ends before it starts"
    if end > today:
        return "the period lies in the future"
    return None


def last_complete_period(frequency: Frequency, today: date) -> tuple[date, date]:
    """The latest whole day, Monday-to-Sunday week or calendar month that has ended before today."""
    yesterday = today - timedelta(days=1)
    if frequency == "daily":
        return yesterday, yesterday
    if frequency == "weekly":
        end = today - timedelta(days=today.weekday() + 1)
        return end - timedelta(days=6), end
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end
