"""The bench's earlier years (`--history`): each generated year moved back whole weeks, its
register rows as the register stores them, and each pupil's year as analytics stores it."""

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from attendance_bench.generator import ACADEMIC_YEAR, make_schools, school_year
from attendance_bench.history import MARK_COLUMNS, MOST_YEARS, PUPIL_YEAR_COLUMNS, EarlierYear, weeks_back

from analytics_service.domain.encoding import STORED_CODES, slot_of
from attendance_shared.rules.codes import Category, category_of
from attendance_shared.rules.figures import academic_year_of

SEED = 11


@pytest.fixture(scope="module")
def earlier() -> tuple[EarlierYear, list]:
    """The year before the replayed one, for one school of 60 pupils, and the days it came from."""
    schools = make_schools(1, 60, SEED)
    days = list(school_year(schools, SEED))
    year = EarlierYear(ACADEMIC_YEAR - 1)
    for day in days:
        year.take(day, weeks_back(1))
    return year, days


def test_every_earlier_year_keeps_its_weekdays_inside_its_academic_year() -> None:
    days = list(school_year(make_schools(1, 5, SEED), SEED))
    for back in range(1, MOST_YEARS + 1):
        moved = [d.day - weeks_back(back) for d in days]
        assert {academic_year_of(day) for day in moved} == {ACADEMIC_YEAR - back}
        assert [day.weekday() for day in moved] == [d.day.weekday() for d in days]


def test_each_mark_and_amendment_is_a_register_row_and_amendments_take_the_next_revision(earlier) -> None:
    year, days = earlier
    rows = [dict(zip(MARK_COLUMNS, row, strict=True)) for row in year.marks]
    marks = sum(d.marks for d in days)
    amendments = [a for d in days for a in d.amendments]
    assert amendments, "the generated year amends some marks"
    assert len(rows) == marks + len(amendments)
    assert Counter(r["revision"] > 1 for r in rows)[True] == len(amendments)
    assert {r["date"] for r in rows} <= {d.day - weeks_back(1) for d in days}
    first = amendments[0]
    amended = [
        r
        for r in rows
        if (r["upn"], r["date"], r["session"]) == (first.upn, first.day - timedelta(weeks=52), first.session)
    ]
    original, amendment = sorted(amended, key=lambda r: r["revision"])[:2]
    assert (original["revision"], original["code"]) == (1, first.previous_code)
    assert (amendment["revision"], amendment["code"], amendment["previous_code"]) == (
        2,
        first.body["code"],
        first.previous_code,
    )
    assert amendment["reason"] == first.body["reason"] and amendment["recorded_at"] > original["recorded_at"]


def test_each_pupil_year_holds_the_latest_code_of_every_session_and_counts_it(earlier) -> None:
    year, days = earlier
    rows = {(r[0], r[1]): dict(zip(PUPIL_YEAR_COLUMNS, r, strict=True)) for r in year.pupil_years({"500000": "201"})}
    latest: dict[tuple[str, object, str], str] = {}
    for day in days:
        for register in day.registers:
            for mark in register.marks:
                latest[(mark["upn"], day.day, register.session)] = mark["code"]
        for amendment in day.amendments:
            latest[(amendment.upn, amendment.day, amendment.session)] = amendment.body["code"]
    assert {upn for upn, _, _ in latest} == {upn for _, upn in rows}
    for (upn, day, session), code in latest.items():
        stored = rows[("500000", upn)]["codes"][slot_of(day - weeks_back(1), session)]
        assert STORED_CODES[stored] == code
    counted = Counter()
    for (upn, _, _), code in latest.items():
        counted[(upn, category_of(code))] += 1
    for (_, upn), row in rows.items():
        assert row["academic_year"] == ACADEMIC_YEAR - 1 and row["la_code"] == "201" and row["flags"] == 0
        assert row["present"] == counted[(upn, Category.PRESENT)]
        assert row["authorised"] == counted[(upn, Category.AUTHORISED_ABSENCE)]
        assert row["unauthorised"] == counted[(upn, Category.UNAUTHORISED_ABSENCE)]
        assert row["possible"] == sum(counted[(upn, c)] for c in Category if c is not Category.NOT_POSSIBLE), (
            "possible is every counted session"
        )
        assert row["unexplained"] == sum(1 for (u, _, _), code in latest.items() if u == upn and code == "N")
        pairs = np.frombuffer(row["revisions"], dtype="<i4").reshape(-1, 2)
        assert all(revision >= 2 for _, revision in pairs)
    # Amended sessions keep their revision, as analytics' own PupilYear does.
    assert sum(len(r["revisions"]) for r in rows.values()) // 8 == len(
        {(a.upn, a.day, a.session) for d in days for a in d.amendments}
    )
