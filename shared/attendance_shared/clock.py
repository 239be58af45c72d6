"""School dates are England's dates, whatever the server's time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

SCHOOL_TIME_ZONE = ZoneInfo("Europe/London")


def today_in_england() -> date:
    return datetime.now(SCHOOL_TIME_ZONE).date()


def add_years(day: date, years: int) -> date:
    """`day` the given number of years on (or back); 29 February becomes 28 February in a
    common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
