"""The governor report and TSM pack PDFs, rendered from a document and read back with
poppler: every figure printed is the document's, empty sections say so, and charts render."""

from pathlib import Path
from typing import Any

from PIL import Image

from la_returns_service.documents.reports_pdf import fmt, render
from la_returns_service.service.reports import csv_lines
from la_returns_service.service.scheduler import last_ended_term
from tests.helpers import poppler


def headline(attendance: float, pupils: int) -> dict[str, Any]:
    return {
        "pupils": pupils,
        "possible_sessions": 100 * pupils,
        "attendance_rate": attendance,
        "overall_absence_rate": round(100 - attendance, 2),
        "authorised_absence_rate": 3.1,
        "unauthorised_absence_rate": round(100 - attendance - 3.1, 2),
        "persistent_absence_pupils": 2,
        "persistent_absence_rate": round(200 / pupils, 2),
        "severe_absence_pupils": 1,
        "severe_absence_rate": round(100 / pupils, 2),
    }


def document(kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": "5b0c9f2e-0000-4000-8000-000000000001",
        "kind": kind,
        "school": {"urn": "160001", "name": "Larch Primary", "la_code": "207"},
        "term": {"name": "autumn", "from": "2026-09-03", "to": "2026-11-27", "complete": False},
        "headline": headline(91.37, 5),
        "comparison": {
            "school": headline(91.37, 5),
            "la": headline(93.08, 6),
            "england": {
                "period": "2024/25 autumn and spring terms",
                "phase": "all",
                "overall_absence_rate": 6.63,
                "unauthorised_absence_rate": None,
                "persistent_absence_rate": 17.63,
                "severe_absence_rate": 2.26,
                "reference_version": "2025-10-23",
            },
        },
        "trend": [{"week_start": f"2026-09-{d:02d}", "attendance_rate": r} for d, r in ((7, 95.0), (14, 88.5))],
        "bands": {
            "width": 5,
            "pupils_counted": 5,
            "pupils_not_counted": 0,
            "bands": [{"band": "0-5", "pupils": 3, "share": 60.0}, {"band": "50+", "pupils": 2, "share": 40.0}],
        },
        "cohort_gaps": {
            "fsm_eligible": [
                {"group": "yes", "pupils": 2, "overall_absence_rate": 30.0, "persistent_absence_rate": 100.0}
            ]
        },
        "reasons": [
            {
                "reason": "illness",
                "label": "Illness (not medical or dental appointments)",
                "sessions": 10,
                "rate": 2.0,
                "national_rate": 3.38,
                "national_period": "2024/25 autumn and spring terms",
            }
        ],
        "year_on_year": None,
    }
    if kind == "tsm-pack":
        case = {
            "stage": "facilitate_support",
            "lead": "Ms Reid",
            "barriers": ["transport"],
            "last_contact_on": "2026-11-20",
            "target_attendance_percent": 90,
            "review_on": "2027-01-15",
            "agreed_actions": [
                {"what": "Weekly mentor meeting", "owner": "Mr Hale", "due_on": "2026-12-03", "status": "open"}
            ],
        }
        found["pupils"] = {
            "severe_absence": [
                {
                    "upn": "A207123424802",
                    "name": "Cal Taylor",
                    "cohorts": {"year_group": "5", "fsm_eligible": True, "sen_status": "sen_support"},
                    "possible_sessions": 120,
                    "absent_sessions": 72,
                    "unauthorised_sessions": 72,
                    "overall_absence_rate": 60.0,
                    "explained": "72 of 120 possible sessions missed: 60.0% (36 days, about 180 lessons).",
                    "case": case,
                },
            ],
            "persistent_absence": [],
            "continuous_absence": [],
            "part_time_timetables": [],
            "open_cases": 1,
        }
    return found


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    # Reading order, not layout: a table cell's wrapped lines then read as one sentence.
    return " ".join(poppler("pdftotext", str(path), "-").decode().split())


def test_a_tsm_pack_prints_the_documents_figures_and_says_what_is_empty(tmp_path: Path) -> None:
    text = text_of(render(document("tsm-pack")), tmp_path)
    for expected in (
        "Targeting Support Meeting pack: Larch Primary",
        "autumn: 2026-09-03 to 2026-11-27 (term to date)",
        f"Attendance {fmt(91.37)} {fmt(93.08)}",
        "Persistent absence (share of pupils) 40.00% 33.33% 17.63%",
        "A207123424802",
        "72 of 120 possible sessions missed: 60.0%",
        "Stage: Facilitate support. Lead: Ms Reid. Barriers: transport. Last contact: 2026-11-20.",
        "Weekly mentor meeting (Mr Hale, due 2026-12-03, open)",
        "No pupil is persistently absent this term.",
        "No part-time timetable ran this term.",
        "No marks last year to compare with.",
        "Illness (not medical or dental appointments) 10 2.00% 3.38%",
    ):
        assert expected in text, expected


def test_a_governor_report_has_no_pupil_lists_and_its_charts_render(tmp_path: Path) -> None:
    pdf = render(document("governor-report"))
    text = text_of(pdf, tmp_path)
    assert "Attendance report for governors: Larch Primary" in text
    assert "A207123424802" not in text and "Severe absence (50% or more)" not in text
    assert "Attendance by week" in text and "Pupils by band of overall absence" in text
    path = tmp_path / "governor.pdf"
    path.write_bytes(pdf)
    poppler("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "2", str(path), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    for png in pages:
        image = Image.open(png).convert("L")
        assert image.size[0] > image.size[1]  # landscape A4
        dark = sum(image.histogram()[:128])
        assert dark > 500, f"{png.name} is nearly blank"


def test_csv_rows_carry_the_same_figures() -> None:
    rows = csv_lines(document("tsm-pack"))
    assert {"section": "headline", "item": "school", "measure": "attendance_rate", "value": 91.37} in rows
    assert {"section": "bands", "item": "50+", "measure": "pupils", "value": 2} in rows
    assert {
        "section": "severe_absence",
        "item": "A207123424802",
        "measure": "cohort.fsm_eligible",
        "value": True,
    } in rows


def test_a_scheduled_report_covers_the_last_term_ended() -> None:
    terms = [
        {"name": "summer", "start": "2026-04-13", "end": "2026-07-17"},
        {"name": "autumn", "start": "2026-09-03", "end": "2026-12-18"},
    ]
    from datetime import date

    assert last_ended_term(terms, date(2026, 12, 3))["name"] == "summer"
    assert last_ended_term(terms, date(2026, 12, 19))["name"] == "autumn"
    assert last_ended_term(terms, date(2026, 7, 17)) is None
