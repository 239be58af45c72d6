"""The whole stack, started as `make run` starts it, driven over HTTP like an MIS and an LA.

A school, four pupils and two weeks of registers (with an amendment) must come out as
exact figures in analytics, flags, a stored parent message and an LA return as CSV.
"""

import csv
import io
from datetime import date

import httpx
import pytest
from attendance_bench.data import school_days

from attendance_shared.auth import Role
from attendance_shared.settings import CommonSettings
from attendance_stack import LocalStack
from tests.factories import MADE_BY, make_upn, pupil_body, school_body
from tests.helpers import bearer as token
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

URN, LA = "100001", "201"
DAYS = school_days(date(2026, 9, 7), 10)  # two school weeks: 20 sessions
PRESENT = {"am": "/", "pm": "\\"}
# Written out plainly rather than taken from the library, so the test checks the library.
ATTENDED, AUTHORISED, UNAUTHORISED = {"/", "\\", "L", "V"}, {"I", "M"}, {"N", "G", "U"}

A, B, C, D = (make_upn(serial=600 + i) for i in range(4))
# B starts with N on the first morning; the school later amends it to I with a reason.
ABSENCES = {
    B: {(0, "am"): "N", (1, "am"): "I", (2, "pm"): "I"},
    C: {(d, s): ("N", "G", "U")[d % 3] for d in range(6) for s in ("am", "pm")},
    D: {(d, "pm"): "D" for d in range(4)},  # dual registered: not possible sessions here
}
AMENDED_TO = "I"


def mark(upn: str, code: str) -> dict[str, object]:
    return {"upn": upn, "code": code, **({"minutes_late": 35} if code in ("L", "U") else {})}


def code_of(upn: str, day_index: int, session: str, *, amended: bool = True) -> str:
    code = ABSENCES.get(upn, {}).get((day_index, session), PRESENT[session])
    if amended and upn == B and (day_index, session) == (0, "am"):
        return AMENDED_TO
    return code


def expected_figures(upn: str) -> dict[str, object]:
    codes = [code_of(upn, d, s) for d in range(len(DAYS)) for s in ("am", "pm")]
    attended = sum(c in ATTENDED for c in codes)
    authorised = sum(c in AUTHORISED for c in codes)
    unauthorised = sum(c in UNAUTHORISED for c in codes)
    possible = attended + authorised + unauthorised
    absent = authorised + unauthorised
    return {
        "possible_sessions": possible,
        "attended_sessions": attended,
        "authorised_absence_sessions": authorised,
        "unauthorised_absence_sessions": unauthorised,
        "overall_absence_rate": round(100 * absent / possible, 2),
        "persistent_absence": absent * 10 >= possible,
        "severe_absence": absent * 2 >= possible,
    }


async def test_a_register_flows_to_figures_flags_messages_and_an_la_return(stack: LocalStack) -> None:
    mis = token(Role.MIS, schools=[URN])
    register = httpx.AsyncClient(base_url=stack.url("register"), headers=mis, timeout=10)
    analytics = httpx.AsyncClient(base_url=stack.url("analytics"), headers=mis, timeout=10)
    notifications = httpx.AsyncClient(base_url=stack.url("notification"), headers=token(Role.STAFF, schools=[URN]))
    returns = httpx.AsyncClient(base_url=stack.url("la-returns"), headers=token(Role.LA, la_code=LA), timeout=30)

    # An MIS sets up the school and admits the pupils (C has no usable parent contact).
    assert (await register.put(f"/v1/schools/{URN}", json=school_body(la_code=LA))).status_code == 200
    for upn in (A, B, C, D):
        body = pupil_body(upn, forename=f"Pupil{upn[-1]}", contacts=[{"name": "Kim"}] if upn == C else None)
        assert (await register.post(f"/v1/schools/{URN}/pupils", json=body)).status_code == 201

    trace_ids: set[str] = set()
    # It takes every register for two weeks, then amends B's first unexplained absence.
    for index, day in enumerate(DAYS):
        for session in ("am", "pm"):
            marks = [mark(u, code_of(u, index, session, amended=False)) for u in (A, B, C, D)]
            response = await register.put(f"/v1/schools/{URN}/registers/{day}/{session}", json={"marks": marks})
            assert response.status_code == 200, response.text
            trace_ids.add(response.headers["traceparent"].split("-")[1])
            assert response.json()["recorded"] == 4
    amendment = await register.patch(
        f"/v1/schools/{URN}/registers/{DAYS[0]}/am/marks/{B}",
        json={"code": AMENDED_TO, "reason": "GP appointment letter received", "made_by": MADE_BY},
    )
    assert amendment.status_code == 200, amendment.text
    unchanged = await register.patch(
        f"/v1/schools/{URN}/registers/{DAYS[0]}/am/marks/{B}",
        json={"code": AMENDED_TO, "reason": "again", "made_by": MADE_BY},
    )
    assert unchanged.status_code == 422  # an amendment must change the mark; no empty revision is stored

    # The legal register keeps the original entry and the amendment.
    history = (await register.get(f"/v1/schools/{URN}/pupils/{B}/marks", params={"to": str(DAYS[0])})).json()
    assert [(e["session"], e["code"], e["revision"], e["previous_code"], e["reason"]) for e in history["entries"]] == [
        ("am", "N", 1, None, None),
        ("am", "I", 2, "N", "GP appointment letter received"),
        ("pm", "\\", 1, None, None),
    ]

    # Analytics: exact figures for every pupil, once the amendment has arrived.
    period = {"from": str(DAYS[0]), "to": str(DAYS[-1])}

    async def figures_match() -> None:
        for upn in (A, B, C, D):
            response = await analytics.get(f"/v1/schools/{URN}/pupils/{upn}/attendance", params=period)
            assert response.status_code == 200, response.text
            figures = response.json()["figures"]
            assert {k: figures[k] for k in expected_figures(upn)} == expected_figures(upn), upn

    await eventually(figures_match)
    assert expected_figures(D)["possible_sessions"] == 16  # the D (dual registration) sessions do not count

    first = (await analytics.get(f"/v1/schools/{URN}/pupil-attendance", params={**period, "limit": 3})).json()
    rest = (
        await analytics.get(f"/v1/schools/{URN}/pupil-attendance", params={**period, "cursor": first["next_cursor"]})
    ).json()
    assert [len(first["items"]), len(rest["items"]), rest["next_cursor"]] == [3, 1, None]
    before_any_mark = {"from": "2026-08-03", "to": "2026-08-07", "limit": 2}
    empty = (await analytics.get(f"/v1/schools/{URN}/pupil-attendance", params=before_any_mark)).json()
    assert empty["items"] == [] and empty["next_cursor"] is None

    # The registers are of 2026/27: asked for by year, so the test reads the same after it.
    flags = (await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": 2026})).json()["items"]
    # C: 12 sessions of N, G and U in six days passes the penalty-notice threshold (10 in 10
    # school weeks), and the N marks of days 1 and 4 stand more than 5 school days later.
    assert sorted((f["upn"], f["flag"]) for f in flags) == sorted(
        [
            (B, "persistent_absence"),
            (C, "persistent_absence"),
            (C, "severe_absence"),
            (C, "penalty_notice_threshold"),
            (C, "unexplained_absence_overdue"),
        ]
    )
    # The list keeps the evidence of the batch that raised each flag; the pupil's own figures
    # give it as it stands now.
    raised = {f["flag"]: (f["evidence_count"], f["evidence_since"]) for f in flags if f["upn"] == C}
    assert 10 <= raised["penalty_notice_threshold"][0] <= 12
    pupil_c = (await analytics.get(f"/v1/schools/{URN}/pupils/{C}/attendance", params=period)).json()
    evidence = {f["flag"]: (f["evidence_count"], f["evidence_since"]) for f in pupil_c["flags"]}
    assert evidence["penalty_notice_threshold"] == (12, "2026-09-07")
    assert evidence["unexplained_absence_overdue"] == (4, "2026-09-07")
    assert set(evidence) == {f["flag"] for f in flags if f["upn"] == C}
    school = (await analytics.get(f"/v1/schools/{URN}/attendance", params=period)).json()
    assert school["persistent_absence_pupils"] == 2 and school["severe_absence_pupils"] == 1
    assert school["figures"]["possible_sessions"] == sum(expected_figures(u)["possible_sessions"] for u in (A, B, C, D))

    # Notifications: an early-support message for B's parent, stored and sent; C's parent has no
    # e-mail or phone, so theirs is a letter home, waiting for the day's print run.
    # (The flags also reach the attendance lead, whom this school has not named: undeliverable.)
    async def messages_settled() -> list[dict]:
        params = {"rule": "persistent-absence-early-support"}
        items = (await notifications.get(f"/v1/schools/{URN}/notifications", params=params)).json()["items"]
        assert {(m["upn"], m["channel"], m["status"]) for m in items} == {(B, "email", "sent"), (C, "post", "queued")}
        leads = (await notifications.get(f"/v1/schools/{URN}/notifications", params={"rule": "risk-flag-lead"})).json()
        assert {m["status"] for m in leads["items"]} == {"undeliverable"}
        return items

    await eventually(messages_settled)
    printed = await notifications.post(f"/v1/schools/{URN}/print-runs")
    assert printed.status_code == 201 and printed.json()["letters"] == 1
    params = {"rule": "persistent-absence-early-support", "upn": C}
    (letter,) = (await notifications.get(f"/v1/schools/{URN}/notifications", params=params)).json()["items"]
    assert (letter["status"], letter["provider"]) == ("sent", "print-run")

    # The LA compiles an attendance return, which la-returns builds with figures fetched from analytics.
    async def compiled() -> dict:
        response = await returns.post(f"/v1/las/{LA}/returns", json={"kind": "attendance", **period})
        assert response.status_code == 201, response.text
        return response.json()

    summary = await eventually(compiled)
    assert summary["row_count"] == 4
    csv_response = await returns.get(f"/v1/las/{LA}/returns/{summary['id']}", headers={"Accept": "text/csv"})
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = {r["upn"]: r for r in csv.DictReader(io.StringIO(csv_response.text))}
    assert set(rows) == {A, B, C, D}
    assert rows[B]["persistent_absence"] == "True" and rows[B]["legal_forename"] == f"Pupil{B[-1]}"
    assert rows[C]["severe_absence"] == "True" and rows[A]["persistent_absence"] == "False"
    assert int(rows[D]["possible_sessions"]) == 16
    assert csv_response.headers["x-checksum"] == summary["checksum"]
    listed = (await returns.get(f"/v1/las/{LA}/returns")).json()["items"]
    assert [r["id"] for r in listed] == [summary["id"]]

    # Scope: another LA cannot see this LA's returns; a parent cannot take a register.
    other_la = await returns.get(f"/v1/las/{LA}/returns", headers=token(Role.LA, la_code="202"))
    assert other_la.status_code == 404 and other_la.headers["content-type"] == "application/problem+json"
    parent = await register.put(
        f"/v1/schools/{URN}/registers/{DAYS[0]}/am",
        headers=token(Role.PARENT),
        json={"marks": [{"upn": A, "code": "/"}]},
    )
    assert parent.status_code == 403
    async with httpx.AsyncClient(base_url=stack.url("register")) as anonymous:
        assert (await anonymous.get(f"/v1/schools/{URN}/pupils")).status_code == 401
    pupils = (await register.get(f"/v1/schools/{URN}/pupils", params={"limit": 3})).json()
    assert len(pupils["items"]) == 3 and pupils["next_cursor"] == pupils["items"][-1]["upn"]
    rest = (await register.get(f"/v1/schools/{URN}/pupils", params={"cursor": pupils["next_cursor"]})).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None

    for client in (register, analytics, notifications, returns):
        await client.aclose()

    # Nothing personal or secret reached any service's log.
    tokens = [c.headers["Authorization"].split()[1] for c in (register, analytics, notifications, returns)]
    personal = {f"Pupil{u[-1]}" for u in (A, B, C, D)} | {
        "Taylor",
        "Alex",
        "Kim",
        "2016-03-04",
        "alex@example.org",
        "Orchard Road",
        "LS6 2AB",
    }
    logs = {path.name: path.read_text() for path in stack.logs.glob("*.log")}
    services = ("register.log", "analytics.log", "notification.log", "la-returns.log")
    assert all(logs.get(name, "").strip() for name in services), "every service logged something to scan"
    # The registers' trace ids reached analytics in the Kafka headers and are in its log.
    applied = [line for line in logs["analytics.log"].splitlines() if '"applied' in line]
    assert any(f'"trace_id":"{t}"' in line for t in trace_ids for line in applied)

    for name, text in logs.items():
        leaked = [s for s in (*tokens, CommonSettings().jwt_secret, *personal) if s in text]
        assert not leaked, f"{name} holds {leaked}"
