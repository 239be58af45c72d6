"""Test data factories: valid identifiers and request bodies, varied by a counter."""

import itertools
from datetime import date, timedelta
from typing import Any

from stdnum.gb import upn as stdnum_upn

_serials = itertools.count(1)


def make_upn(la_code: str = "201", establishment: str = "1234", year: str = "24", serial: int | None = None) -> str:
    """A permanent UPN with the right check letter (DfE algorithm, via python-stdnum)."""
    body = f"{la_code}{establishment}{year}{(serial if serial is not None else next(_serials)) % 1000:03d}"
    return stdnum_upn.calc_check_digit("X" + body) + body


def school_body(la_code: str = "201", name: str = "Oak Lane Primary") -> dict[str, Any]:
    return {"la_code": la_code, "name": name, "establishment_number": "1234"}


def pupil_body(upn: str, *, forename: str = "Sam", contacts: list[dict] | None = None, **overrides: Any) -> dict:
    return {
        "upn": upn,
        "legal_surname": "Taylor",
        "legal_forename": forename,
        "date_of_birth": "2016-03-04",
        "year_group": "5",
        "admission_date": "2025-09-01",
        "contacts": contacts if contacts is not None else [{"name": "Alex Taylor", "email": "alex@example.org"}],
        **overrides,
    }


def school_days(start: date, count: int) -> list[date]:
    """`count` weekdays from `start` onwards."""
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days
