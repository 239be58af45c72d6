"""support-service through the whole stack: a term of registers for a small school makes
analytics flag a pupil, support-service suggests a case, and staff and the LA work it through
every stage to penalty notices and an evidence pack, over real HTTP, PostgreSQL and Kafka."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller

from attendance_shared.auth import Role
from attendance_shared.clock import today_in_england
from attendance_shared.rules.calendar import calendar_from_values
from attendance_stack import LocalStack
from attendance_stack.processes import free_port
from tests.e2e.conftest import start_stack
from tests.factories import calendar_body, make_upn, pupil_body, school_body
from tests.helpers import bearer, poppler, today_clear_of_midnight
from tests.integration.notification_parts import Mailbox

pytestmark = pytest.mark.e2e
T = TypeVar("T")

URN, LA = "150001", "206"
ABSENT, REGULAR = make_upn(la_code=LA, serial=701), make_upn(la_code=LA, serial=702)
IMPROVER, STEADY = make_upn(la_code=LA, serial=703), make_upn(la_code=LA, serial=704)
PUPILS = {ABSENT: "Ada", REGULAR: "Ben", IMPROVER: "Cal", STEADY: "Dee"}
# IMPROVER misses Mondays and Tuesdays until a plan with mentoring starts on 5 October, and
# attends every session from then; STEADY misses every Monday all term and has no plan.
PLAN_STARTS = date(2026, 10, 5)
PARENTS = [
    {"name": "Grace Okafor", "relationship": "mother", "email": "grace@example.org"},
    {"name": "Tom Okafor", "relationship": "father", "phone": "07700900123"},
]
TODAY = today_in_england()


@pytest.fixture(scope="module", autouse=True)
def _one_day_for_the_whole_flow() -> None:
    """Every test here acts on one `TODAY`, read as the module starts, when the flow has time to
    finish before midnight (it takes under a minute)."""
    global TODAY
    TODAY = today_clear_of_midnight(margin_s=300)


STAFF = bearer(Role.STAFF, subject="lead@hilltop", schools=[URN])
OFFICER = bearer(Role.LA, subject="officer@la206", la_code=LA)
# ABSENT misses Mondays, Tuesdays and Wednesdays without leave: persistent, and far past the
# penalty-notice threshold; REGULAR attends every session.
ABSENT_DAYS = (0, 1, 2)


def school_days_so_far() -> list[date]:
    body = calendar_body()
    calendar = calendar_from_values(body["academic_year"], body["terms"], body["closures"])
    first = date(2026, 9, 1)
    return [
        first + timedelta(days=n)
        for n in range((TODAY - first).days)
        if calendar.is_school_day(first + timedelta(days=n))
    ]


def code_of(upn: str, day: date, session: str) -> str:
    absent = (
        (upn == ABSENT and day.weekday() in ABSENT_DAYS)
        or (upn == IMPROVER and day < PLAN_STARTS and day.weekday() in (0, 1))
        or (upn == STEADY and day.weekday() == 0)
    )
    if absent:
        return "O"
    return "/" if session == "am" else "\\"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """The real SMTP server the notification tests use; the stack's notification sends to it."""
    box = Mailbox()
    box.port = free_port()
    server = Controller(box, hostname="127.0.0.1", port=box.port)
    server.start()
    try:
        yield box
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[LocalStack]:
    checks = {
        "SUPPORT_NOTICE_CHECK_INTERVAL_S": "0.5",
        "SUPPORT_MARKS_LOAD_INTERVAL_S": "0.5",
        "SUPPORT_REVIEW_CHECK_INTERVAL_S": "1",
        "NOTIFICATION_SMTP_HOST": "127.0.0.1",
        "NOTIFICATION_SMTP_PORT": str(mailbox.port),
        "NOTIFICATION_SMTP_STARTTLS": "false",
        # No quiet hours: Tom's letters go by text, which would otherwise wait until 08:00
        # when the test runs in the evening.
        "NOTIFICATION_QUIET_HOURS_START": "00:00",
        "NOTIFICATION_QUIET_HOURS_END": "00:00",
    }
    stack = start_stack(tmp_path_factory.mktemp("stack"), checks)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def term(stack: LocalStack) -> list[date]:
    """The school, its four pupils and every register of the year so far."""
    admin = bearer(Role.ADMIN)
    days = school_days_so_far()
    with httpx.Client(base_url=stack.url("register"), headers=admin, timeout=60) as register:
        assert (
            register.put(f"/v1/schools/{URN}", json=school_body(la_code=LA, name="Hill Top Academy")).status_code == 200
        )
        assert register.put(f"/v1/schools/{URN}/calendar", json=calendar_body()).status_code == 200
        for upn, forename in PUPILS.items():
            body = pupil_body(upn, forename=forename, contacts=PARENTS, year_group="7", admission_date="2026-09-01")
            assert register.post(f"/v1/schools/{URN}/pupils", json=body).status_code == 201
        registers = [
            {
                "urn": URN,
                "date": str(day),
                "session": session,
                "marks": [{"upn": upn, "code": code_of(upn, day, session)} for upn in PUPILS],
            }
            for day in days
            for session in ("am", "pm")
        ]
        for start in range(0, len(registers), 200):
            response = register.put("/v1/registers", json={"registers": registers[start : start + 200]})
            assert response.status_code == 200, response.text
    return days


def wait_for(check: Callable[[], T], what: str, timeout_s: float = 60) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        if result := check():
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def absent_sessions(days: list[date], start: date, end: date) -> list[dict]:
    """ABSENT's unauthorised sessions in [start, end], newest first."""
    found = [
        {"date": str(day), "session": session}
        for day in days
        for session in ("am", "pm")
        if start <= day <= end and code_of(ABSENT, day, session) == "O"
    ]
    return found[::-1]


def test_a_term_of_registers_suggests_a_case_worked_through_every_stage_to_an_evidence_pack(
    stack: LocalStack, term: list[date]
) -> None:
    support = httpx.Client(base_url=f"{stack.url('support')}/v1/schools/{URN}", headers=STAFF, timeout=60)

    # A term of registers: analytics flags the pupils who miss school, support-service
    # suggests a case for each of them, and penalty notices must be considered for two.
    def suggested() -> dict[str, dict]:
        items = {s["upn"]: s for s in support.get("/support-suggestions").json()["items"]}
        flagged = set(items) == {ABSENT, IMPROVER, STEADY}
        return items if flagged and "persistent_absence" in items[ABSENT]["flags"] else {}

    suggestion = wait_for(suggested, "suggested cases")[ABSENT]

    def considered() -> list[str]:
        upns = sorted(c["upn"] for c in support.get("/penalty-considerations").json()["items"])
        return upns if len(upns) == 2 else []

    assert wait_for(considered, "penalty considerations") == sorted([ABSENT, STEADY])  # IMPROVER missed 8

    accepted = support.post(
        f"/support-suggestions/{suggestion['id']}/accept",
        json={"lead": "Ms Reid", "barriers": [{"barrier": "family_circumstances", "notes": "new baby at home"}]},
    )
    assert accepted.status_code == 201, accepted.text
    case = accepted.json()
    url = f"/support-cases/{case['id']}"
    visit = {
        "kind": "home_visit",
        "happened_at": f"{term[-1]}T15:30:00+00:00",
        "made_by": "Ms Reid",
        "with_whom": "Grace Okafor (mother)",
        "outcome": "no answer; card left",
    }
    assert support.post(f"{url}/contacts", json=visit).status_code == 201
    action = {
        "type": "daily_check_in",
        "what": "Meet at the gate each morning",
        "owner": "Mr Hale",
        "due_on": str(TODAY),
    }
    plan = support.post(f"{url}/plans", json={"target_attendance_percent": 90, "actions": [action]})
    assert plan.status_code == 201, plan.text
    agreed = support.post(
        f"{url}/plans/{plan.json()['id']}/agreement", json={"agreed_by": "Grace Okafor", "agreed_on": str(TODAY)}
    )
    assert agreed.status_code == 200
    for stage in ("listen_and_understand", "facilitate_support", "formalise_support"):
        assert support.post(f"{url}/stage", json={"stage": stage, "reason": f"moving to {stage}"}).status_code == 200
    contract = {
        "agreed_with": ["Grace Okafor"],
        "agreed_on": str(TODAY - timedelta(days=1)),
        "parent_requirements": ["Ada is at school by 08:45 every day"],
        "support_offered": ["A place at breakfast club", "Weekly check-in with Mr Hale"],
    }
    assert support.post(f"{url}/attendance-contracts", json=contract).status_code == 201

    # At the formal stage the LA sees the case, and issues a Notice to Improve dated after
    # half-term: three school weeks, judged every school day against the register.
    la = httpx.Client(base_url=f"{stack.url('support')}/v1/schools/{URN}", headers=OFFICER, timeout=60)
    assert la.get(url).status_code == 200
    nti = {"issued_on": "2026-11-02", "school_weeks": 3, "criterion": "no_unauthorised_absence"}
    too_long = la.post(f"{url}/notices-to-improve", json={**nti, "school_weeks": 8})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "school_weeks"
    issued = la.post(f"{url}/notices-to-improve", json=nti)
    assert issued.status_code == 201, issued.text
    assert (issued.json()["period_start"], issued.json()["period_end"]) == ("2026-11-03", "2026-11-19")

    def concluded() -> dict | None:
        (notice,) = support.get(f"{url}/notices-to-improve").json()
        return notice if notice["status"] != "running" else None

    notice = wait_for(concluded, "the Notice to Improve to be judged")
    in_period = absent_sessions(term, date(2026, 11, 3), date(2026, 11, 19))
    assert notice["status"] == "not_met"
    assert notice["judgement"]["why"] == f"{len(in_period)} session(s) of unauthorised absence in the period"

    # Enforcement: penalty notices per parent, on sessions of the rolling 10 school weeks.
    assert (
        support.post(f"{url}/stage", json={"stage": "enforce", "reason": "the notice was not met"}).status_code == 200
    )
    latest = absent_sessions(term, TODAY - timedelta(days=70), TODAY)
    first, second, third = latest[:10], latest[10:20], latest[20:30]
    notices = f"{url}/penalty-notices"
    to_grace = la.post(notices, json={"parent_name": "Grace Okafor", "issued_on": str(TODAY), "sessions": first})
    assert to_grace.status_code == 201, to_grace.text
    assert (to_grace.json()["lower_amount"], to_grace.json()["full_amount"]) == (80, 160)
    to_tom = la.post(notices, json={"parent_name": "Tom Okafor", "issued_on": str(TODAY), "sessions": first})
    assert to_tom.status_code == 201, to_tom.text  # each parent may be given one for the same absence
    reused = la.post(
        notices, json={"parent_name": "Tom Okafor", "issued_on": str(TODAY), "sessions": [first[0], *second[:9]]}
    )
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "sessions[0]"
    attended = {"date": str(term[-1]), "session": "am"} if term[-1].weekday() not in ABSENT_DAYS else None
    if attended:
        present = la.post(
            notices, json={"parent_name": "Tom Okafor", "issued_on": str(TODAY), "sessions": [attended, *second[:9]]}
        )
        assert "not an unauthorised absence" in present.json()["errors"][0]["message"]
    old = la.post(notices, json={"parent_name": "Tom Okafor", "issued_on": str(TODAY),
                                 "sessions": [{"date": "2026-09-07", "session": "am"}, *second[:9]]})  # fmt: skip
    assert "outside the rolling 10 school weeks" in old.json()["errors"][0]["message"]
    again = la.post(notices, json={"parent_name": "Grace Okafor", "issued_on": str(TODAY), "sessions": second})
    assert again.status_code == 201 and (again.json()["lower_amount"], again.json()["full_amount"]) == (None, 160)
    third_notice = la.post(notices, json={"parent_name": "Grace Okafor", "issued_on": str(TODAY), "sessions": third})
    assert third_notice.status_code == 422
    refusal = third_notice.json()["errors"][0]
    assert refusal["field"] == "parent_name" and "at most 2 penalty notices" in refusal["message"]
    assert "education supervision order" in refusal["message"]
    paid = la.post(f"{notices}/{to_grace.json()['id']}/outcome", json={"outcome": "paid", "on": str(TODAY)})
    assert paid.status_code == 200 and paid.json()["amount_paid"] == 80
    withdrawn = la.post(
        f"{notices}/{to_tom.json()['id']}/outcome",
        json={"outcome": "withdrawn", "on": str(TODAY), "withdrawal_ground": "wrong_person"},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    order = {
        "court_date": str(TODAY - timedelta(days=30)),
        "made_on": str(TODAY - timedelta(days=30)),
        "supervisor": "J. Patel",
    }
    made = support.post(f"{url}/supervision-orders", json=order)
    assert made.status_code == 201
    beyond = support.patch(
        f"{url}/supervision-orders/{made.json()['id']}", json={"extend_to": str(TODAY + timedelta(days=4 * 365))}
    )
    assert beyond.status_code == 422 and "at most 3 years" in beyond.json()["detail"]

    # The evidence pack: the register's marks as the LA's herringbone, analytics' figures, the
    # chronology and every step above.
    pack = support.get(f"{url}/evidence-pack", params={"from": "2026-09-01"})
    assert pack.status_code == 200, pack.text
    body = pack.json()
    sent = [(day, session, code_of(ABSENT, day, session)) for day in term for session in ("am", "pm")]
    assert body["figures"]["possible_sessions"] == len(sent)
    assert body["figures"]["unauthorised_absence_sessions"] == sum(code == "O" for *_, code in sent)
    last_hundred = [code for *_, code in sent][-100:]
    assert body["registration_certificate"]["last_100_possible_sessions"] == {
        "possible": len(last_hundred),
        "unauthorised": last_hundred.count("O"),
    }
    monday = term[0] - timedelta(days=term[0].weekday())
    assert body["registration_certificate"]["weeks"][0]["week_of"] == str(monday)
    staff_entries = [c["outcome"] for c in body["chronology"] if c["made_by"] != "notification-service"]
    assert staff_entries == ["no answer; card left"]  # the letters' entries arrive as they are sent
    assert [n["status"] for n in body["penalty_notices"]] == ["paid", "withdrawn", "issued"]
    pdf = support.get(f"{url}/evidence-pack", params={"from": "2026-09-01"}, headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = stack.config.data_dir / "pack.pdf"
    path.write_bytes(pdf.content)
    text = " ".join(poppler("pdftotext", "-layout", str(path), "-").decode().split())
    assert f"Ada Taylor (UPN {ABSENT}, year 7)" in text and "Hill Top Academy (URN 150001)" in text
    assert "Notice to Improve issued 2026-11-02" in text and "Status: not met" in text
    assert "Penalty notice issued" in text and "to Grace Okafor on 10 sessions" in text
    poppler("pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path), str(stack.config.data_dir / "page"))
    assert (stack.config.data_dir / "page-1.png").stat().st_size > 10_000
    reads = support.get(f"{url}/reads").json()["items"]
    assert {"evidence pack", "case", "legal"} <= {r["what"] for r in reads}
    packs = [r for r in reads if r["what"] == "evidence pack"]
    assert len(packs) == 2 and reads.index(packs[0]) == 0  # the PDF, then the JSON: one entry each

    # A meeting with the parents: notification-service invites them (checked in the last test).
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=15, minute=30, second=0, microsecond=0)
    meeting = {"starts_at": starts.isoformat(), "place": "the school office", "purpose": "to plan the next steps"}
    assert support.post(f"{url}/meetings", json=meeting).status_code == 201

    closed = support.post(f"{url}/close", json={"outcome": "transferred_to_la", "notes": "prosecution file sent"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_the_impact_report_shows_the_change_after_an_action_against_comparable_pupils(
    stack: LocalStack, term: list[date]
) -> None:
    support = httpx.Client(base_url=f"{stack.url('support')}/v1", headers=STAFF, timeout=60)
    opened = support.post(
        f"/schools/{URN}/support-cases", json={"upn": IMPROVER, "lead": "Mr Hale", "reason": "Mondays and Tuesdays"}
    )
    assert opened.status_code == 201, opened.text
    action = {"type": "mentoring", "what": "Weekly mentor", "owner": "Mr Hale", "due_on": "2026-10-09"}
    plan = {"target_attendance_percent": 95, "starts_on": str(PLAN_STARTS), "actions": [action]}
    made = support.post(f"/schools/{URN}/support-cases/{opened.json()['id']}/plans", json=plan)
    assert made.status_code == 201, made.text

    # Four school weeks either side of 5 October: 7 to 28 September against 5 October to
    # 6 November (half-term skipped). IMPROVER went from 6 of 10 sessions a week to all 10;
    # STEADY, persistently absent like IMPROVER and without a plan, stayed at 8 of 10.
    report = support.get(f"/schools/{URN}/support-impact", params={"weeks": 4, "from": "2026-09-01"})
    assert report.status_code == 200, report.text
    rows = {row["kind"]: row for row in report.json()["rows"]}
    for kind in ("plan", "mentoring"):
        row = rows[kind]
        assert (row["measured"], row["mean_before"], row["mean_after"], row["mean_change"]) == (1, 60.0, 100.0, 40.0)
        assert (row["share_improved"], row["compared"], row["compared_mean_change"]) == (100.0, 1, 40.0)
        assert row["comparison_pupils"] == 1
        assert (row["comparison_mean_change"], row["mean_difference"]) == (0.0, 40.0)
    assert rows["plan"]["too_recent"] == 1  # the first test's plan started today
    assert rows["daily_check_in"]["measured"] == 0 and rows["daily_check_in"]["too_recent"] == 1
    (mentoring,) = [i for i in report.json()["interventions"] if i["kind"] == "mentoring"]
    assert (mentoring["upn"], mentoring["band"], mentoring["change"]) == (IMPROVER, "persistent", 40.0)
    assert "regression to the mean" in report.json()["method"]
    csv = support.get(
        f"/schools/{URN}/support-impact", params={"weeks": 4, "from": "2026-09-01"}, headers={"Accept": "text/csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv") and "mean_difference" in csv.text.splitlines()[0]

    # The LA sees the same figures across its schools, without any pupil's casework.
    officer = httpx.Client(base_url=f"{stack.url('support')}/v1", headers=OFFICER, timeout=60)
    la = officer.get(f"/las/{LA}/support-impact", params={"weeks": 4, "from": "2026-09-01"}).json()
    assert {r["kind"]: r for r in la["rows"]}["mentoring"] == rows["mentoring"] and la["interventions"] == []
    assert officer.get(f"/schools/{URN}/support-impact", params={"weeks": 4}).json()["interventions"] == []


def test_parents_hear_the_days_missed_analytics_reports_and_each_legal_step_by_letter(
    stack: LocalStack, term: list[date], mailbox: Mailbox
) -> None:
    """A half-term's summaries sent by staff reach each parent with an e-mail through the real
    SMTP server, stating the days analytics reports; each Notice to Improve and penalty notice
    the LA issued reached the parents as a letter."""
    notification = httpx.Client(base_url=f"{stack.url('notification')}/v1/schools/{URN}", headers=STAFF, timeout=60)
    preview = notification.get("/attendance-summaries/preview", params={"period": "2026-autumn-1"})
    assert preview.status_code == 200, preview.text
    assert (preview.json()["pupils"], preview.json()["by_channel"]) == (4, {"email": 4, "sms": 4})
    sent = notification.post("/attendance-summaries", json={"period": "2026-autumn-1"})
    assert sent.status_code == 201, sent.text

    def summaries() -> dict[str, str] | None:
        found = {
            m["Subject"].split("'", 1)[0]: m.get_payload(decode=True).decode()
            for m in mailbox.messages
            if m["Subject"].endswith("the first half of the autumn term")
        }
        return found if len(found) == 4 else None

    bodies = wait_for(summaries, "four summaries to reach Grace")
    analytics = httpx.Client(base_url=f"{stack.url('analytics')}/v1/schools/{URN}", headers=STAFF, timeout=60)
    for upn, forename in PUPILS.items():
        figures = analytics.get(f"/pupils/{upn}/attendance", params={"from": "2026-09-01", "to": "2026-10-25"}).json()[
            "figures"
        ]
        days = (figures["possible_sessions"] - figures["attended_sessions"]) / 2
        said = "No days missed" if days == 0 else f"{days:g} days missed this autumn term"
        assert said in bodies[forename], bodies[forename]
    assert all(m["To"] == "grace@example.org" for m in mailbox.messages)  # Tom's went by SMS

    # Letters from the legal steps: one per Notice to Improve, and one per penalty notice to Grace.
    case = httpx.Client(base_url=f"{stack.url('support')}/v1/schools/{URN}", headers=STAFF, timeout=60)
    cases = [f"/support-cases/{c['id']}" for c in case.get(f"/pupils/{ABSENT}/support-cases").json()["items"]]
    notices = sum(len(case.get(f"{url}/notices-to-improve").json()) for url in cases)
    penalties = [n["parent_name"] for url in cases for n in case.get(f"{url}/penalty-notices").json()]
    meetings = sum(len(case.get(f"{url}/meetings").json()) for url in cases)

    def letters() -> tuple[int, int, int] | None:
        subjects = [m["Subject"] for m in mailbox.messages]
        found = (
            subjects.count("Notice to Improve: Ada's attendance"),
            subjects.count("Penalty notice: Ada's absence from school"),
            subjects.count("Invitation: a meeting about Ada's attendance"),
        )
        return found if found == (notices, penalties.count("Grace Okafor"), meetings) else None

    wait_for(letters, "the legal steps' letters")

    # Each letter is logged in the case's chronology as it goes: Grace's by e-mail, Tom's by
    # text (two parents for a notice or a meeting; a penalty notice's one parent).
    def logged() -> list[tuple[str, str]] | None:
        entries = [
            (c["with_whom"], c["outcome"])
            for url in cases
            for c in case.get(f"{url}/contacts", params={"limit": 500}).json()["items"]
            if c["made_by"] == "notification-service"
        ]
        return entries if len(entries) == 2 * notices + len(penalties) + 2 * meetings else None

    entries = wait_for(logged, "the letters in the chronology")
    if notices:
        assert ("Grace Okafor", "Notice to Improve letter sent by e-mail") in entries
    if meetings:
        assert ("Tom Okafor", "Invitation to an attendance meeting sent by text message") in entries
