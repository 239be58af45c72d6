"""School dates are England's dates, whatever the server's time zone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

SCHOOL_TIME_ZONE = ZoneInfo("Europe/London")


def today_in_england() -> date:
    return datetime.now(SCHOOL_TIME_ZONE).date()
