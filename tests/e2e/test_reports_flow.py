"""A term of registers through the whole stack yields a governor report and a Targeting
Support Meeting pack whose figures equal the API's, checked on the PDF's rendered text and on
a page rendered to an image; the actions agreed at the meeting are recorded beside the pack."""

import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import TypeVar

import httpx
import pytest
from PIL import Image

from attendance_shared.auth import Role
from attendance_shared.clock import today_in_england
from attendance_shared.rules.calendar import calendar_from_values
from attendance_stack import LocalStack
from la_returns_service.documents.reports_pdf import fmt
from tests.e2e.conftest import start_stack
from tests.factories import calendar_body, make_upn, pupil_body, school_body
from tests.helpers import bearer, poppler, today_clear_of_midnight

pytestmark = pytest.mark.e2e
T = TypeVar("T")

URN, OTHER_URN, LA = "160001", "160002", "207"
EVERY, MONDAYS, HALF, ILL, LATE_JOINER = (make_upn(la_code=LA, serial=n) for n in range(801, 806))
# EVERY attends every session; MONDAYS misses every Monday (20%: persistent); HALF misses
# Monday to Wednesday (60%: severe); ILL is ill for the first week of October; LATE_JOINER
# arrives on 2 November and misses one afternoon.
PUPILS = {EVERY: "Ada", MONDAYS: "Ben", HALF: "Cal", ILL: "Dee", LATE_JOINER: "Eve"}
JOINS = date(2026, 11, 2)
TODAY = today_in_england()


@pytest.fixture(scope="module", autouse=True)
def _one_day_for_the_whole_flow() -> None:
    """Every test here acts on one `TODAY`, read as the module starts, when the flow has time to
    finish before midnight (it takes under a minute)."""
    global TODAY
    TODAY = today_clear_of_midnight(margin_s=300)


STAFF = bearer(Role.STAFF, subject="head@larch", schools=[URN])
OFFICER = bearer(Role.LA, subject="officer@la207", la_code=LA)


def registered_days() -> list[date]:
    """Every school day of the autumn term up to yesterday (at most to 27 November)."""
    body = calendar_body()
    calendar = calendar_from_values(body["academic_year"], body["terms"], body["closures"])
    first, last = date(2026, 9, 1), min(TODAY - timedelta(days=1), date(2026, 11, 27))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if calendar.is_school_day(day)]


def code_of(upn: str, day: date, session: str) -> str | None:
    if upn == LATE_JOINER and day < JOINS:
        return None
    if (upn == MONDAYS and day.weekday() == 0) or (upn == HALF and day.weekday() in (0, 1, 2)):
        return "O"
    if upn == ILL and date(2026, 10, 5) <= day <= date(2026, 10, 9):
        return "I"
    if upn == LATE_JOINER and day == JOINS and session == "pm":
        return "M"
    return "/" if session == "am" else "\\"


def wait_for(check: Callable[[], T], what: str, timeout_s: float = 90) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        if result := check():
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("stack"), {"LA_RETURNS_SCHEDULE_INTERVAL_S": "0.5"})
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def term(stack: LocalStack) -> list[date]:
    """Two schools of one LA (so the LA's figures differ from the school's), the pupils, every
    register of the term so far, and a support case with a plan for the severely absent pupil."""
    admin = bearer(Role.ADMIN)
    days = registered_days()
    with httpx.Client(base_url=stack.url("register"), headers=admin, timeout=60) as register:
        for urn, name in ((URN, "Larch Primary"), (OTHER_URN, "Birch Primary")):
            assert register.put(f"/v1/schools/{urn}", json=school_body(la_code=LA, name=name)).status_code == 200
            assert register.put(f"/v1/schools/{urn}/calendar", json=calendar_body()).status_code == 200
        for upn, forename in PUPILS.items():
            joined = str(JOINS) if upn == LATE_JOINER else "2026-09-01"
            body = pupil_body(upn, forename=forename, admission_date=joined, fsm_eligible=upn in (MONDAYS, HALF))
            assert register.post(f"/v1/schools/{URN}/pupils", json=body).status_code == 201, body
        other = make_upn(la_code=LA, serial=899)
        assert register.post(f"/v1/schools/{OTHER_URN}/pupils", json=pupil_body(other)).status_code == 201
        registers = []
        for day in days:
            for session in ("am", "pm"):
                marks = [{"upn": u, "code": c} for u in PUPILS if (c := code_of(u, day, session))]
                registers.append({"urn": URN, "date": str(day), "session": session, "marks": marks})
                registers.append({"urn": OTHER_URN, "date": str(day), "session": session,
                                  "marks": [{"upn": other, "code": "O" if day.day % 7 == 0 else "/"}]})  # fmt: skip
        for start in range(0, len(registers), 200):
            response = register.put("/v1/registers", json={"registers": registers[start : start + 200]})
            assert response.status_code == 200, response.text
    support = httpx.Client(base_url=f"{stack.url('support')}/v1/schools/{URN}", headers=STAFF, timeout=60)
    wait_for(lambda: support.get("/support-suggestions").status_code == 200, "support")
    opened = wait_for(
        lambda: (r := support.post("/support-cases", json={
            "upn": HALF, "lead": "Ms Reid", "reason": "misses half of every week", "stage": "facilitate_support",
            "barriers": [{"barrier": "transport", "notes": "no bus on Mondays"}],
        })).status_code == 201 and r.json(),
        "the pupil on support-service's roll",
    )  # fmt: skip
    actions = [{"type": "mentoring", "what": "Weekly mentor meeting", "owner": "Mr Hale", "due_on": str(TODAY)}]
    plan = support.post(f"/support-cases/{opened['id']}/plans", json={"target_attendance_percent": 90,
                                                                     "actions": actions})  # fmt: skip
    assert plan.status_code == 201, plan.text
    return days


def test_a_term_yields_a_governor_report_and_a_tsm_pack_whose_figures_equal_the_apis(
    stack: LocalStack, term: list[date]
) -> None:
    analytics = httpx.Client(base_url=stack.url("analytics"), headers=STAFF, timeout=60)
    reports = httpx.Client(base_url=f"{stack.url('la-returns')}/v1/schools/{URN}", headers=STAFF, timeout=120)
    expected_sessions = sum(1 for d in term for s in ("am", "pm") for u in PUPILS if code_of(u, d, s))
    period_of_term = {"period": "term", "on": str(term[0])}

    def caught_up() -> dict:
        found = analytics.get(f"/v1/schools/{URN}/attendance", params=period_of_term).json()
        return found if found["figures"]["possible_sessions"] == expected_sessions else {}

    wait_for(caught_up, "analytics to hold every mark")
    wait_for(lambda: reports.get("/reports").status_code == 200, "la-returns to know the school")

    governor = reports.post("/reports", json={"kind": "governor-report", "on": str(term[0])})
    assert governor.status_code == 201, governor.text
    pack = reports.post("/reports", json={"kind": "tsm-pack", "on": str(term[-1])})
    assert pack.status_code == 201, pack.text
    summary = pack.json()
    assert (summary["term"], summary["start"]) == ("autumn", "2026-09-03")
    period = {"from": summary["start"], "to": summary["end"]}

    # The document's figures are the API's for the same dates.
    document = reports.get(f"/reports/{summary['id']}").json()["document"]
    school = analytics.get(f"/v1/schools/{URN}/attendance", params=period).json()
    assert document["headline"]["attendance_rate"] == school["figures"]["attendance_rate"]
    assert document["headline"]["persistent_absence_pupils"] == school["persistent_absence_pupils"] == 2
    assert document["headline"]["severe_absence_pupils"] == school["severe_absence_pupils"] == 1
    la = analytics.get(f"/v1/schools/{URN}/benchmarks", params=period).json()["local_authority"]
    assert document["comparison"]["la"]["attendance_rate"] == la["figures"]["attendance_rate"]
    bands = analytics.get(f"/v1/schools/{URN}/absence-bands", params=period).json()
    assert [b["pupils"] for b in document["bands"]["bands"]] == [b["pupils"] for b in bands["bands"]]
    assert [p["upn"] for p in document["pupils"]["severe_absence"]] == [HALF]
    assert [p["upn"] for p in document["pupils"]["persistent_absence"]] == [MONDAYS]
    case = document["pupils"]["severe_absence"][0]["case"]
    assert (case["stage"], case["lead"], case["barriers"]) == ("facilitate_support", "Ms Reid", ["transport"])
    assert [a["what"] for a in case["agreed_actions"]] == ["Weekly mentor meeting"]
    assert document["pupils"]["persistent_absence"][0]["case"] is None

    # The PDF says the same: its text, and a page that is not blank.
    pdf = reports.get(f"/reports/{summary['id']}", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pack_file = stack.config.data_dir / "tsm-pack.pdf"
    pack_file.write_bytes(pdf.content)
    text = poppler("pdftotext", "-layout", str(pack_file), "-").decode()
    for needed in (
        "Targeting Support Meeting pack: Larch Primary",
        fmt(school["figures"]["attendance_rate"]),
        fmt(la["figures"]["attendance_rate"]),
        fmt(school["persistent_absence_rate"]),
        HALF,
        MONDAYS,
        "Stage: Facilitate support",
        "Weekly mentor meeting",
        "Pupils by band of overall absence",
        "Attendance by week",
        "Actions agreed at the meeting",
    ):
        assert needed in text, f"{needed!r} is not in the pack's text"
    monday_words = document["pupils"]["persistent_absence"][0]["explained"].split(":")[0]
    assert monday_words in " ".join(text.split())
    poppler("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pack_file), str(stack.config.data_dir / "tsm"))
    (png,) = stack.config.data_dir.glob("tsm*.png")
    page = Image.open(png)
    grey = page.convert("L")
    assert page.size[0] > page.size[1] and grey.getextrema()[0] < 100  # landscape, with ink on it
    governor_pdf = reports.get(f"/reports/{governor.json()['id']}", headers={"Accept": "application/pdf"})
    governor_file = stack.config.data_dir / "governor.pdf"
    governor_file.write_bytes(governor_pdf.content)
    governor_text = poppler("pdftotext", str(governor_file), "-").decode()
    assert "Attendance report for governors: Larch Primary" in governor_text
    assert "Severe absence (50% or more)" not in governor_text  # no pupil lists for the board

    # CSV rows carry the same figures.
    rows = reports.get(f"/reports/{summary['id']}", headers={"Accept": "text/csv"}).text
    assert f"headline,school,attendance_rate,{school['figures']['attendance_rate']}" in rows

    # Actions agreed at the meeting are kept beside the pack; the pack itself never changes.
    agreed = reports.post(
        f"/reports/{summary['id']}/agreed-actions",
        json=[{"upn": HALF, "action": "Early help assessment", "owner": "LA attendance officer"}],
        headers=OFFICER,
    )
    assert agreed.status_code == 201, agreed.text
    stranger = reports.post(
        f"/reports/{summary['id']}/agreed-actions", json=[{"upn": EVERY, "action": "x", "owner": "y"}]
    )
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "[0].upn"
    again = reports.get(f"/reports/{summary['id']}").json()
    assert [a["action"] for a in again["agreed_actions"]] == ["Early help assessment"]
    assert reports.get(f"/reports/{summary['id']}", headers={"Accept": "application/pdf"}).content == pdf.content
    listed = httpx.get(f"{stack.url('la-returns')}/v1/las/{LA}/reports", headers=OFFICER).json()["items"]
    assert [r["kind"] for r in listed] == ["governor-report", "tsm-pack"]


def test_reports_refuse_a_term_not_begun_and_say_which_field(stack: LocalStack, term: list[date]) -> None:
    reports = httpx.Client(base_url=f"{stack.url('la-returns')}/v1/schools/{URN}", headers=STAFF, timeout=60)
    future = reports.post("/reports", json={"kind": "governor-report", "on": str(TODAY + timedelta(days=200))})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "on"
    unknown = reports.post("/reports", json={"kind": "league-table"})
    assert unknown.status_code == 422
    other = reports.get(f"/reports/{'0' * 8}-0000-0000-0000-{'0' * 12}")
    assert other.status_code == 404
    schedule = httpx.put(
        f"{stack.url('la-returns')}/v1/las/{LA}/report-schedule", json={"kinds": ["tsm-pack"]}, headers=OFFICER
    )
    assert schedule.status_code == 200 and schedule.json() == {"kinds": ["tsm-pack"]}
    twice = httpx.put(
        f"{stack.url('la-returns')}/v1/las/{LA}/report-schedule", json={"kinds": ["tsm-pack"] * 2}, headers=OFFICER
    )
    assert twice.status_code == 422
