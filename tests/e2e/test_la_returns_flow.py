"""Register -> analytics -> la-returns through the whole stack: an MIS admits, deletes and
takes registers with a long illness and a 10-day unauthorised run; the LA compiles every kind
of return and gets exact rows, as JSON and CSV, and clear 4xx answers for bad requests."""

import csv
import hashlib
import io
import json
from datetime import date

import httpx
import pytest
from attendance_bench.data import school_days

from attendance_shared.auth import Role
from attendance_stack import LocalStack
from tests.factories import calendar_body, make_upn, pupil_body, school_body
from tests.helpers import bearer, eventually

pytestmark = pytest.mark.e2e

URN, OTHER_URN, LA = "100101", "100102", "201"
FIRST_DAY = "2026-09-04"  # 3 September is an INSET day: the year's first day with pupils is the 4th
DAYS = school_days(date(2026, 9, 7), 16)
PERIOD = {"from": "2026-09-03", "to": "2026-10-09"}
REC, ILL, TRUANT, LEAVER, MID, REC2 = (make_upn(serial=800 + i) for i in range(6))
WORKER = {"name": "Pat Jones", "email": "pat@la.example"}


def code_of(upn: str, index: int, session: str) -> str:
    if upn == ILL and index < 15:
        return "I"
    if upn == TRUANT and index < 10:
        return "O"
    return "/" if session == "am" else "\\"


async def test_every_kind_of_return_from_registers_to_the_la(stack: LocalStack) -> None:
    mis = httpx.AsyncClient(base_url=stack.url("register"), headers=bearer(Role.MIS, schools=[URN]), timeout=30)
    la = httpx.AsyncClient(base_url=stack.url("la-returns"), headers=bearer(Role.LA, la_code=LA), timeout=60)
    assert (await mis.put(f"/v1/schools/{URN}", json=school_body(la_code=LA))).status_code == 200
    assert (await mis.put(f"/v1/schools/{URN}/calendar", json=calendar_body())).status_code == 200
    admissions = {
        REC: {"year_group": "R", "admission_date": FIRST_DAY},
        ILL: {"admission_date": FIRST_DAY, "social_worker": WORKER},
        TRUANT: {"admission_date": FIRST_DAY, "looked_after": True},
        LEAVER: {"admission_date": FIRST_DAY},
        MID: {"admission_date": "2026-10-05"},
    }
    for upn, overrides in admissions.items():
        response = await mis.post(f"/v1/schools/{URN}/pupils", json=pupil_body(upn, forename=upn[-3:], **overrides))
        assert response.status_code == 201, response.text
    for index, day in enumerate(DAYS):
        for session in ("am", "pm"):
            marks = [{"upn": u, "code": code_of(u, index, session)} for u in (REC, ILL, TRUANT, LEAVER)]
            response = await mis.put(f"/v1/schools/{URN}/registers/{day}/{session}", json={"marks": marks})
            assert response.status_code == 200, response.text
    deletion = {
        "ground": "a",
        "date": "2026-09-30",
        "destination": {"school_name": "Elm Academy", "start_date": "2026-10-01"},
    }
    assert (await mis.post(f"/v1/schools/{URN}/pupils/{LEAVER}/deletion", json=deletion)).status_code in (200, 201)

    async def compiled(kind: str, rows: int | None = None) -> tuple[dict, list[dict]]:
        response = await la.post(f"/v1/las/{LA}/returns", json={"kind": kind, **PERIOD})
        assert response.status_code == 201, response.text
        summary = response.json()
        document = (await la.get(f"/v1/las/{LA}/returns/{summary['id']}")).json()
        if rows is not None:
            assert summary["row_count"] == rows, document["rows"]
        assert summary["checksum"] == checksum_of(document["rows"])
        return summary, document["rows"]

    # Sickness: 15 school days ill in one spell, so the pupil qualifies both ways: one row for
    # the consecutive spell and one for the year's illness together (reg 13: "consecutive or
    # cumulative"). Waits until every mark has arrived: the spell reaches 15 days before its
    # last sessions are in.
    pupil = {
        "school_urn": URN,
        "school_name": "Oak Lane Primary",
        "upn": ILL,
        "legal_surname": "Taylor",
        "legal_forename": ILL[-3:],
        "date_of_birth": "2016-03-04",
        "year_group": "5",
        "address": "12 Orchard Road, Leeds, LS6 2AB",
        "first_illness_day": str(DAYS[0]),
        "last_illness_day": str(DAYS[14]),
        "illness_school_days": 15,
        "illness_sessions": 30,
        "reached_15_days_on": str(DAYS[14]),
    }
    expected_sickness = [
        {**pupil, "qualified_by": "consecutive", "ongoing": False},
        {**pupil, "qualified_by": "cumulative", "ongoing": None},
    ]

    async def sickness_settled() -> tuple[dict, list[dict]]:
        summary, rows = await compiled("sickness", 2)
        assert rows == expected_sickness
        return summary, rows

    sickness, _ = await eventually(sickness_settled, timeout_s=60)

    # Attendance: figures and the 10-day unauthorised run, both from analytics.
    async def attendance_settled() -> list[dict]:
        _, rows = await compiled("attendance")
        assert {r["upn"] for r in rows} >= {REC, ILL, TRUANT, LEAVER}
        assert next(r for r in rows if r["upn"] == ILL)["possible_sessions"] == 32
        return rows

    rows = {r["upn"]: r for r in await eventually(attendance_settled, timeout_s=60)}
    view = {
        u: (
            r["possible_sessions"],
            r["attended_sessions"],
            r["authorised_absence_sessions"],
            r["unauthorised_absence_sessions"],
            r["persistent_absence"],
            r["severe_absence"],
            r["continuous_unauthorised_school_days"],
            r["continuous_unauthorised_since"],
            r["continuous_unauthorised_until"],
            r["fails_to_attend_regularly"],
            r["social_worker"],
            r["looked_after"],
        )
        for u, r in rows.items()
        if u != MID
    }
    assert view == {
        REC: (32, 32, 0, 0, False, False, 0, None, None, False, False, False),
        ILL: (32, 2, 30, 0, True, True, 0, None, None, True, True, False),
        TRUANT: (32, 12, 0, 20, True, True, 10, str(DAYS[0]), str(DAYS[9]), True, False, True),
        LEAVER: (32, 32, 0, 0, False, False, 0, None, None, False, False, False),
    }
    assert MID not in rows or rows[MID]["possible_sessions"] == 0
    # The pupil's own columns, picked out of the admission record in the database.
    assert {k: rows[ILL][k] for k in ("legal_surname", "date_of_birth", "year_group", "address")} == {
        "legal_surname": "Taylor",
        "date_of_birth": "2016-03-04",
        "year_group": "5",
        "address": "12 Orchard Road, Leeds, LS6 2AB",
    }

    _, lines = await compiled("school-attendance", 4)
    everyone = next(line for line in lines if line["cohort"] == "all")
    assert (everyone["possible_sessions"], everyone["persistent_absence_pupils"]) == (128, 2)
    assert everyone["continuous_unauthorised_10_days_pupils"] == 1
    assert [(line["cohort"], line["pupils"]) for line in lines if line["cohort"] != "all"] == [
        ("social_worker", 1),
        ("looked_after", 1),
        ("sen", 0),
    ]

    _, workers = await compiled("social-worker", 1)
    seen = [
        (r["upn"], r["social_worker_name"], r["social_worker_email"], r["authorised_absence_sessions"]) for r in workers
    ]
    assert seen == [(ILL, "Pat Jones", "pat@la.example", 30)]

    # New pupils: the reception pupil who started on the first day is exempt; all are overdue now.
    # Admissions travel on their own topic, so la-returns may still be applying the last one.
    _, rows = await eventually(lambda: compiled("new-pupils", 4))
    assert [(r["upn"], r["admission_date"], r["due_on"], r["status"]) for r in rows] == [
        *((u, FIRST_DAY, "2026-09-09", "overdue") for u in sorted((ILL, TRUANT, LEAVER))),
        (MID, "2026-10-05", "2026-10-10", "overdue"),
    ]
    assert rows[0]["parents"] == "Alex Taylor" and rows[0]["sex"] == "F"

    # Deletion: the ground, its meaning, and where the pupil went.
    _, rows = await eventually(lambda: compiled("deletions", 1))
    assert [
        (r["upn"], r["left_on"], r["ground"], r["ground_description"], r["destination_school_name"], r["due_on"])
        for r in rows
    ] == [(LEAVER, "2026-09-30", "a", "registered at another school", "Elm Academy", "2026-09-30")]

    # The LA opts in to first-day reception pupils: those entered from now on are returned.
    opted = await la.put(f"/v1/las/{LA}/settings", json={"include_reception_first_day": True})
    assert opted.status_code == 200 and opted.json()["include_reception_first_day"] is True
    body = pupil_body(REC2, year_group="R", admission_date=FIRST_DAY)
    assert (await mis.post(f"/v1/schools/{URN}/pupils", json=body)).status_code == 201
    _, rows = await eventually(lambda: compiled("new-pupils", 5))
    assert REC2 in {r["upn"] for r in rows} and REC not in {r["upn"] for r in rows}

    # CSV, streamed, with the checksum of the snapshot.
    response = await la.get(f"/v1/las/{LA}/returns/{sickness['id']}", headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-checksum"] == sickness["checksum"]
    parsed = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["upn"], r["qualified_by"], r["illness_school_days"], r["ongoing"]) for r in parsed] == [
        (ILL, "consecutive", "15", "False"),
        (ILL, "cumulative", "15", ""),
    ]

    # Polling: everything after a cursor, in order, and a cursor to keep.
    listed = (await la.get(f"/v1/las/{LA}/returns", params={"limit": 2})).json()
    assert len(listed["items"]) == 2 and listed["more"] is True
    after = (await la.get(f"/v1/las/{LA}/returns", params={"since": listed["next_cursor"]})).json()
    everything = (await la.get(f"/v1/las/{LA}/returns")).json()
    assert [r["id"] for r in everything["items"]] == [r["id"] for r in listed["items"] + after["items"]]
    assert sickness["id"] in {r["id"] for r in everything["items"]} and not after["more"]
    nothing_new = (await la.get(f"/v1/las/{LA}/returns", params={"since": everything["next_cursor"]})).json()
    assert nothing_new["items"] == [] and nothing_new["next_cursor"] == everything["next_cursor"]

    # A school sees its own rows; another school's staff see nothing of them.
    staff = bearer(Role.STAFF, schools=[URN])
    own = (await la.get(f"/v1/schools/{URN}/returns", headers=staff, params={"kind": "sickness"})).json()
    # Oldest first, the settled one last (waiting for the marks may have compiled earlier ones).
    assert own["items"][-1]["id"] == sickness["id"] and {r["kind"] for r in own["items"]} == {"sickness"}
    mine = (await la.get(f"/v1/schools/{URN}/returns/{sickness['id']}", headers=staff)).json()
    assert [r["upn"] for r in mine["rows"]] == [ILL, ILL]
    other = await la.get(f"/v1/schools/{URN}/returns", headers=bearer(Role.STAFF, schools=[OTHER_URN]))
    assert other.status_code == 404

    # Idempotency-Key: a retried compile returns the first answer and compiles nothing new.
    key = {"Idempotency-Key": "returns-e2e-1"}
    first = await la.post(f"/v1/las/{LA}/returns", json={"kind": "deletions", **PERIOD}, headers=key)
    again = await la.post(f"/v1/las/{LA}/returns", json={"kind": "deletions", **PERIOD}, headers=key)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]

    # Bad input: a 4xx problem that says what is wrong.
    async def problem(response: httpx.Response, status: int, words: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.text, response.text

    unknown_la = bearer(Role.LA, la_code="999")
    await problem(
        await la.post("/v1/las/999/returns", json={"kind": "attendance", **PERIOD}, headers=unknown_la), 404, "999"
    )
    await problem(await la.post(f"/v1/las/{LA}/returns", json={"kind": "truancy", **PERIOD}), 422, "kind")
    backwards = {"kind": "sickness", "from": "2026-10-09", "to": "2026-09-03"}
    await problem(await la.post(f"/v1/las/{LA}/returns", json=backwards), 422, "ends before it starts")
    future = {"kind": "sickness", "from": "2026-09-03", "to": "2099-01-01"}
    await problem(await la.post(f"/v1/las/{LA}/returns", json=future), 422, "in the future")
    await problem(await la.get(f"/v1/las/{LA}/returns", params={"cursor": "bm90IGEgY3Vyc29y"}), 422, "cursor")
    await problem(await la.get(f"/v1/las/{LA}/returns", params={"since": "%%%"}), 422, "since")
    bad_schedule = {"entries": [{"kind": "x", "frequency": "daily"}]}
    await problem(await la.put(f"/v1/las/{LA}/schedule", json=bad_schedule), 422, "kind")

    schedule = {
        "entries": [{"kind": "attendance", "frequency": "monthly"}, {"kind": "sickness", "frequency": "weekly"}]
    }
    assert (await la.put(f"/v1/las/{LA}/schedule", json=schedule)).json() == schedule
    assert (await la.get(f"/v1/las/{LA}/schedule")).json() == schedule
    await mis.aclose()
    await la.aclose()


def checksum_of(rows: list[dict]) -> str:
    """The checksum as the README defines it, worked out here from the rows as fetched."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
    return f"sha256:{digest.hexdigest()}"
