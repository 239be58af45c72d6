"""Seeded, valid test data: schools, pupils with real UPN check letters, register bodies."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.gb import upn as stdnum_upn


@dataclass(frozen=True)
class School:
    urn: str
    la_code: str
    upns: tuple[str, ...]


def make_upn(la_code: str, establishment: int, serial: int) -> str:
    body = f"{la_code}{establishment:04d}{24 + serial // 1000:02d}{serial % 1000:03d}"
    return stdnum_upn.calc_check_digit("X" + body) + body


def make_schools(count: int, pupils: int, *, first_urn: int = 500000) -> list[School]:
    schools = []
    for index in range(count):
        la_code = f"{201 + index % 50}"
        upns = tuple(make_upn(la_code, 1000 + index, serial) for serial in range(pupils))
        schools.append(School(urn=str(first_urn + index), la_code=la_code, upns=upns))
    return schools


def school_body(school: School) -> dict:
    return {"la_code": school.la_code, "name": f"Bench School {school.urn}"}


def pupil_body(upn: str, rng: random.Random) -> dict:
    return {
        "upn": upn,
        "legal_surname": "Bench",
        "legal_forename": "Pupil",
        "date_of_birth": "2015-05-05",
        "sex": rng.choice("FM"),
        "year_group": str(rng.randint(1, 6)),
        "admission_date": "2025-09-01",
        "address": {"lines": ["1 Bench Street"], "postcode": "LS1 1AA"},
        "contacts": [{"name": "Parent", "email": "parent@example.org"}],
    }


def school_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def register_body(school: School, session: str, rng: random.Random) -> dict:
    """Most pupils present; a few absent or late, as a real morning looks."""
    marks = []
    for upn in school.upns:
        roll = rng.random()
        if roll < 0.93:
            marks.append({"upn": upn, "code": "/" if session == "am" else "\\"})
        elif roll < 0.96:
            marks.append({"upn": upn, "code": rng.choice("IMN")})
        else:
            marks.append({"upn": upn, "code": "L", "minutes_late": rng.randint(1, 20)})
    return {"marks": marks}
