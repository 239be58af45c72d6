"""Test data factories: valid identifiers and request bodies, varied by a counter."""

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from stdnum.gb import upn as stdnum_upn

from attendance_shared.clock import today_in_england
from attendance_shared.events import (
    Contact,
    Event,
    PupilAdmittedV1,
    RiskFlagRaisedV1,
    SchoolUpsertedV1,
    SessionMarkedV1,
    make_event,
    pupil_key,
)
from attendance_shared.rules.calendar import calendar_from_values
from attendance_shared.rules.figures import academic_year_of

_serials = itertools.count(1)
# Who made an amendment, as the register must keep it.
MADE_BY = {"name": "Jo Patel", "position": "attendance officer"}


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
        "sex": "F",
        "year_group": "5",
        "admission_date": "2025-09-01",
        "address": {"lines": ["12 Orchard Road"], "town": "Leeds", "postcode": "LS6 2AB"},
        "contacts": contacts if contacts is not None else [{"name": "Alex Taylor", "email": "alex@example.org"}],
        **overrides,
    }


def calendar_body() -> dict[str, Any]:
    """2026/27: three terms with half-terms, two INSET days and a bank-holiday closure."""
    y = 2026
    return {
        "academic_year": y,
        "terms": [
            {
                "name": "autumn",
                "start": f"{y}-09-03",
                "end": f"{y}-12-18",
                "half_term_start": f"{y}-10-26",
                "half_term_end": f"{y}-10-30",
            },
            {
                "name": "spring",
                "start": f"{y + 1}-01-05",
                "end": f"{y + 1}-03-26",
                "half_term_start": f"{y + 1}-02-15",
                "half_term_end": f"{y + 1}-02-19",
            },
            {
                "name": "summer",
                "start": f"{y + 1}-04-12",
                "end": f"{y + 1}-07-21",
                "half_term_start": f"{y + 1}-05-31",
                "half_term_end": f"{y + 1}-06-04",
            },
        ],
        "closures": [
            {"day": f"{y}-09-03", "kind": "inset", "reason": "training"},
            {"day": f"{y}-11-20", "kind": "inset", "reason": "training"},
            {"day": f"{y + 1}-05-03", "kind": "planned_closure", "reason": "bank holiday"},
        ],
    }


def school_day_ahead(days: int = 14) -> date:
    """A school day at least `days` ahead of today in `calendar_body`'s calendar (a weekday once
    past it, as a school without a calendar counts them): leave and part-time timetables are
    agreed only ahead, so tests over the whole stack, on the real clock, plan there."""
    body = calendar_body()
    calendar = calendar_from_values(body["academic_year"], body["terms"], body["closures"])
    day = today_in_england() + timedelta(days=days)
    while not (calendar.is_school_day(day) if academic_year_of(day) == 2026 else day.weekday() < 5):
        day += timedelta(days=1)
    return day


# One valid payload of each kind the consumers read, for tests that start from a real event.
SAMPLE_UPN = make_upn(serial=1)
SAMPLE_SCHOOL = SchoolUpsertedV1(urn="100001", la_code="201", name="Oak Lane Primary")
SAMPLE_PUPIL = PupilAdmittedV1(
    school_urn="100001",
    la_code="201",
    upn=SAMPLE_UPN,
    legal_surname="Taylor",
    legal_forename="Sam",
    date_of_birth=date(2016, 3, 4),
    year_group="5",
    admission_date=date(2025, 9, 1),
    contacts=(Contact(name="Alex", email="alex@example.org"),),
)
SAMPLE_MARK = SessionMarkedV1(
    school_urn="100001",
    la_code="201",
    upn=SAMPLE_UPN,
    date=date(2026, 9, 7),
    session="am",
    code="N",
    revision=1,
    recorded_at=datetime(2026, 9, 7, 8, 55, tzinfo=UTC),
)
SAMPLE_FLAG = RiskFlagRaisedV1(
    school_urn="100001",
    la_code="201",
    upn=SAMPLE_UPN,
    flag="persistent_absence",
    academic_year=2026,
    possible_sessions=20,
    absent_sessions=3,
    overall_absence_rate=15.0,
    as_of=date(2026, 9, 18),
)


def mark_record(upn: str, day: date, session: str, code: str, urn: str = "100001") -> tuple[str, Event]:
    """A first-revision mark as (topic, event), the pair a consumer's handler takes."""
    mark = SessionMarkedV1(
        school_urn=urn,
        la_code="201",
        upn=upn,
        date=day,
        session=session,
        code=code,
        revision=1,
        recorded_at=datetime.now(UTC),
    )
    return "attendance.marks.v1", make_event(mark, source="/test", subject=pupil_key(urn, upn))


# Cursors a client may send that no listing gave: parts past bigint, signs, other digits.
CURSORS_OUT_OF_RANGE = (
    "57534719351070734352.355",
    "18446744073709551616.1",
    "1.99999999999999999999",
    "1.9223372036854775808",
    "-1.2",
)
