"""The evidence pack's PDF, read back with poppler: its text says what the pack holds, and
its first page renders as an image with marks on it."""

import struct
from datetime import date, timedelta

from attendance_shared.rules.codes import UNAUTHORISED_ABSENCE_CODES
from support_service.documents.evidence_pdf import render
from support_service.domain.herringbone import certificate
from tests.helpers import poppler


def pack() -> dict:
    monday = date(2026, 9, 7)
    entries = [
        {"date": str(monday + timedelta(weeks=w, days=d)), "session": s,
         "code": "O" if d == 0 else ("/" if s == "am" else "\\"), "revision": 1}
        for w in range(12) for d in range(5) for s in ("am", "pm")
    ]  # fmt: skip
    entries.append(
        {"date": "2026-09-08", "session": "am", "code": "I", "revision": 2, "previous_code": "/",
         "reason": "mum phoned: ill", "made_by_name": "Ms Reid"}
    )  # fmt: skip
    made = certificate(entries, monday, monday + timedelta(weeks=12))
    unauthorised, possible = made.unauthorised_in_last_possible(100)
    return {
        "generated_at": "2026-12-03T10:00:00+00:00",
        "generated_by": "lead@school",
        "period": {"from": "2026-09-07", "to": "2026-11-27"},
        "school": {"urn": "140001", "name": "Hill Top Academy", "la_code": "205"},
        "pupil": {"upn": "A205123424401", "forename": "Ada", "surname": "Okafor", "year_group": "7",
                  "parents": [{"name": "Grace Okafor", "relationship": "mother"}]},
        "case": {"stage": "enforce", "status": "open", "lead": "Ms Reid", "barriers": [{"barrier": "transport"}],
                 "stage_history": [{"changed_at": "2026-10-01T09:00:00", "from_stage": None, "to_stage": "monitor",
                                    "reason": "persistently absent", "changed_by": "lead@school"}]},
        "figures": {"possible_sessions": 120, "attended_sessions": 95, "authorised_absence_sessions": 1,
                    "unauthorised_absence_sessions": 24, "attendance_rate": 79.17, "overall_absence_rate": 20.83,
                    "persistent_absence": True, "severe_absence": False},
        "registration_certificate": {
            "weeks": [{"week_of": r["week_of"].isoformat(), "days": r["days"]} for r in made.rows()],
            "legend": made.legend(),
            "amendments": [{"date": str(a.day), "session": a.session, "previous_code": a.previous_code,
                            "code": a.code, "reason": a.reason, "made_by": a.made_by} for a in made.amendments],
            "last_100_possible_sessions": {"possible": possible, "unauthorised": unauthorised},
        },
        "chronology": [{"happened_at": "2026-10-02T15:30:00+00:00", "kind": "home_visit", "made_by": "Ms Reid",
                        "with_whom": "Grace Okafor", "outcome": "no answer; card left", "notes": None,
                        "corrected_by": None}],
        "plans": [{"starts_on": "2026-10-05", "target_attendance_percent": 92, "review_on": "2026-11-13",
                   "agreed_by": "Grace Okafor", "agreed_on": "2026-10-05", "status": "active",
                   "actions": [{"what": "Meet at the gate", "type": "daily_check_in", "owner": "Mr Hale",
                                "due_on": "2026-10-06", "status": "done"}]}],
        "attendance_contracts": [],
        "supervision_orders": [],
        "notices_to_improve": [{"issued_on": "2026-11-02", "criterion_text": "no unauthorised absence in the "
                                "improvement period", "period_start": "2026-11-03", "period_end": "2026-11-19",
                                "status": "not_met", "judgement": {"why": "2 session(s) of unauthorised absence"}}],
        "penalty_notices": [{"issued_on": "2026-11-30", "parent_name": "Grace Okafor", "sessions": [{}] * 10,
                             "lower_amount": 80, "full_amount": 160, "status": "issued", "withdrawal_ground": None,
                             "amount_paid": None, "paid_on": None}],
    }  # fmt: skip


def test_the_pdf_reads_back_as_the_pack(tmp_path) -> None:
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(render(pack(), set(UNAUTHORISED_ABSENCE_CODES)))
    text = poppler("pdftotext", "-layout", str(pdf), "-").decode()
    for expected in (
        "Attendance evidence pack",
        "Ada Okafor (UPN A205123424401, year 7)",
        "Hill Top Academy (URN 140001)",
        "Registration certificate",
        "2026-09-07",
        "Unauthorised absence in the last 100 possible sessions: 20.",
        "Absent in other or unknown circumstances",
        "mum phoned: ill",
        "true extract of the attendance register",
        "Headteacher",
        "no answer; card left",
        "Meet at the gate",
        "Notice to Improve issued 2026-11-02",
        "Penalty notice issued 2026-11-30 to Grace Okafor on 10 sessions (£80 within 21 days, £160 within 28",
    ):
        assert expected in " ".join(text.split()) or expected in text, f"{expected!r} not in the PDF's text"


def test_the_first_page_renders_with_the_grid_on_it(tmp_path) -> None:
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(render(pack(), set(UNAUTHORISED_ABSENCE_CODES)))
    poppler("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page"))
    (png,) = tmp_path.glob("page*.png")
    data = png.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert width > height > 300  # A4 landscape at 50 dpi: about 585 x 413
    assert len(data) > 20_000  # a page of tables and text, not a blank one
