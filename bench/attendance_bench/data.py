"""Small helpers shared by the generator and the end-to-end tests: valid UPNs and weekdays."""

from datetime import date, timedelta

from stdnum.gb import upn as stdnum_upn


def make_upn(la_code: str, establishment: int, serial: int) -> str:
    body = f"{la_code}{establishment:04d}{24 + serial // 1000:02d}{serial % 1000:03d}"
    return stdnum_upn.calc_check_digit("X" + body) + body


def school_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days
