"""The governor report and the Targeting Support Meeting pack as PDFs, with ReportLab, from
the stored document: every number printed is one of the document's, so the PDF, the JSON and
the CSV say the same. Charts are drawn in black and greys, legible when printed."""

import io
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer

from attendance_shared.pdf import BODY, H1, bar_chart, line_chart, p, section, table

TITLES = {"governor-report": "Attendance report for governors", "tsm-pack": "Targeting Support Meeting pack"}
COHORT_NAMES = {
    "fsm_eligible": "Free school meals",
    "pupil_premium": "Pupil premium",
    "sen_status": "Special educational needs",
    "year_group": "Year group",
}
STAGES = {
    "monitor": "Monitor",
    "listen_and_understand": "Listen and understand",
    "facilitate_support": "Facilitate support",
    "formalise_support": "Formalise support",
    "enforce": "Enforce",
}


def fmt(value: object, suffix: str = "%") -> str:
    """A rate as the API gives it, to two places; a dash where there is none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}{suffix}"
    return str(value)


def _headline(document: dict[str, Any]) -> list[Any]:
    school = document["comparison"]["school"]
    la = document["comparison"]["la"] or {}
    england = document["comparison"]["england"]
    measures = [
        ("Attendance", "attendance_rate"),
        ("Overall absence", "overall_absence_rate"),
        ("Unauthorised absence", "unauthorised_absence_rate"),
        ("Persistent absence (share of pupils)", "persistent_absence_rate"),
        ("Severe absence (share of pupils)", "severe_absence_rate"),
    ]
    rows = [[name, fmt(school.get(key)), fmt(la.get(key)), fmt(england.get(key))] for name, key in measures]
    rows.append(["Pupils", school["pupils"], la.get("pupils", "–"), "–"])
    rows.append(
        [
            "Persistently absent pupils",
            school["persistent_absence_pupils"],
            la.get("persistent_absence_pupils", "–"),
            "–",
        ]
    )
    rows.append(["Severely absent pupils", school["severe_absence_pupils"], la.get("severe_absence_pupils", "–"), "–"])
    source = f"England: {england.get('period') or 'no published figure'} ({england.get('phase') or 'all schools'})"
    return [table(["Measure", "School", "LA", "England"], rows, [90 * mm, 35 * mm, 35 * mm, 35 * mm]), p(source)]


def _trend(document: dict[str, Any]) -> list[Any]:
    weeks = document["trend"]
    if not weeks:
        return []
    labels = [w["week_start"][5:] for w in weeks]
    la_rate = (document["comparison"]["la"] or {}).get("attendance_rate")
    england_absence = document["comparison"]["england"].get("overall_absence_rate")
    series: dict[str, list[float | None]] = {"School, by week": [w["attendance_rate"] for w in weeks]}
    if la_rate is not None:
        series["LA, the term"] = [la_rate] * len(weeks)
    if england_absence is not None:
        series["England, published"] = [round(100 - england_absence, 2)] * len(weeks)
    chart = line_chart("Attendance by week", labels, series, y_label="Attendance % (week starting)")
    rows = [[w["week_start"], fmt(w["attendance_rate"])] for w in weeks]
    return [chart, table(["Week starting", "Attendance"], rows, [40 * mm, 30 * mm])]


def _bands(document: dict[str, Any]) -> list[Any]:
    bands = document["bands"]
    if not bands["pupils_counted"]:
        return []
    labels = [b["band"] for b in bands["bands"]]
    chart = bar_chart("Pupils by band of overall absence", labels, [b["pupils"] for b in bands["bands"]],
                      y_label="Pupils (20 or more possible sessions)")  # fmt: skip
    rows = [[b["band"] + "%", b["pupils"], fmt(b["share"])] for b in bands["bands"]]
    note = p(f"{bands['pupils_counted']} pupils counted; {bands['pupils_not_counted']} with fewer than 20 possible "
             "sessions are not (as the DfE counts).")  # fmt: skip
    return [chart, table(["Band", "Pupils", "Share"], rows, [30 * mm, 25 * mm, 25 * mm]), note]


def _gaps(document: dict[str, Any]) -> list[Any]:
    rows = [
        [COHORT_NAMES.get(attribute, attribute), g["group"], g["pupils"], fmt(g["overall_absence_rate"]),
         fmt(g["persistent_absence_rate"])]
        for attribute, groups in document["cohort_gaps"].items()
        for g in groups
    ]  # fmt: skip
    return [table(["Cohort", "Group", "Pupils", "Absence", "Persistent absence"], rows)] if rows else []


def _reasons(document: dict[str, Any]) -> list[Any]:
    rows = [
        [r["label"], r["sessions"], fmt(r["rate"]), fmt(r["national_rate"]) if r["national_rate"] is not None else "–"]
        for r in document["reasons"]
    ]
    return [table(["Reason", "Sessions", "Rate", "England"], rows, [120 * mm, 25 * mm, 25 * mm, 25 * mm])]


def _year_on_year(document: dict[str, Any]) -> list[Any]:
    found = document["year_on_year"]
    if not found:
        return []
    rows = [
        [label, f"{part['from']} to {part['to']}", fmt(part["attendance_rate"]), fmt(part["overall_absence_rate"]),
         fmt(part["persistent_absence_rate"])]
        for label, part in (("This year", found["this_year"]), ("Last year", found["last_year"]))
    ]  # fmt: skip
    return [
        p(f"Both to school day {found['school_day_number']} of the year.", BODY),
        table(["", "Dates", "Attendance", "Absence", "Persistent absence"], rows),
    ]


def _case(case: dict[str, Any] | None) -> str:
    if case is None:
        return "No open support case."
    actions = "; ".join(f"{a['what']} ({a['owner']}, due {a['due_on']}, {a['status']})" for a in case["agreed_actions"])
    return (
        f"Stage: {STAGES.get(case['stage'], case['stage'])}. Lead: {case['lead']}. "
        f"Barriers: {', '.join(case['barriers']) or 'none recorded'}. "
        f"Last contact: {case['last_contact_on'] or 'none'}. Agreed actions: {actions or 'no plan agreed'}."
    )


def _pupil_list(pupils: list[dict[str, Any]]) -> list[Any]:
    rows = []
    for pupil in pupils:
        c = pupil["cohorts"]
        cohorts = ", ".join(
            label for label, on in (("FSM", c.get("fsm_eligible")), ("PP", c.get("pupil_premium")),
                                    ("LAC", c.get("looked_after")), ("EAL", c.get("eal"))) if on
        )  # fmt: skip
        if c.get("sen_status") not in (None, "none"):
            cohorts = ", ".join(filter(None, [cohorts, f"SEN: {c['sen_status']}"]))
        rows.append([
            f"{pupil['upn']}\n{pupil['name'] or ''}", c.get("year_group") or "", cohorts or "–",
            fmt(pupil["overall_absence_rate"]), pupil["explained"], _case(pupil["case"]),
        ])  # fmt: skip
    widths = [38 * mm, 12 * mm, 28 * mm, 18 * mm, 75 * mm, 98 * mm]
    return [table(["Pupil", "Year", "Cohorts", "Absence", "Why", "Casework (support-service)"], rows, widths)]


def render(document: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    school, term = document["school"], document["term"]
    title = f"{TITLES[document['kind']]}: {school['name']}"
    pdf = SimpleDocTemplate(
        out, pagesize=landscape(A4), leftMargin=14 * mm, rightMargin=14 * mm, topMargin=12 * mm,
        bottomMargin=12 * mm, title=title, author=school["name"],
    )  # fmt: skip
    span = f"{term['name'] or 'Term'}: {term['from']} to {term['to']}" + ("" if term["complete"] else " (term to date)")
    story: list[Any] = [
        Paragraph(title, H1),
        p(f"School {school['urn']}, LA {school['la_code']}. {span}. Report {document['id']}.", BODY),
        Spacer(1, 4 * mm),
        *section("Headline figures against the LA and England", _headline(document), "No figures."),
        KeepTogether(section("Trend", _trend(document), "No school week in the term yet.")),
        KeepTogether(section("Absence bands", _bands(document), "No pupil has 20 possible sessions yet.")),
        *section("Cohort gaps", _gaps(document), "No cohort recorded."),
        *section("Reasons for absence, as rates of possible sessions", _reasons(document), "No absence."),
        *section("Year on year", _year_on_year(document), "No marks last year to compare with."),
    ]
    pupils = document.get("pupils")
    if pupils is not None:
        story += [
            PageBreak(),
            *section("Severe absence (50% or more)", _pupil_list(pupils["severe_absence"]) if pupils["severe_absence"]
                     else [], "No pupil is severely absent this term."),
            *section("Persistent absence (10% to under 50%)", _pupil_list(pupils["persistent_absence"])
                     if pupils["persistent_absence"] else [], "No pupil is persistently absent this term."),
            *section("Continuous absence (10 school days or more unauthorised)", [table(
                ["Pupil", "From", "To", "School days", "Ongoing"],
                [[r["upn"], r["start"], r["end"], r["school_days"], "yes" if r["ongoing"] else "no"]
                 for r in pupils["continuous_absence"]])] if pupils["continuous_absence"] else [],
                "No run of 10 school days this term."),
            *section("Part-time timetables", [table(
                ["Pupil", "Reason", "From", "Last day", "Status", "Next review"],
                [[t["upn"], t["reason"], t["start"], t["last_day"], t["status"], t["next_review_on"] or "–"]
                 for t in pupils["part_time_timetables"]])] if pupils["part_time_timetables"] else [],
                "No part-time timetable ran this term."),
            *section("Actions agreed at the meeting", [
                p("Record each action agreed, with its owner and date, through the API "
                  f"(POST /v1/schools/{school['urn']}/reports/{document['id']}/agreed-actions); they are kept "
                  "beside this pack, which never changes.", BODY),
                table(["Pupil", "Action", "Owner", "By"], [["", "", "", ""] for _ in range(6)],
                      [38 * mm, 140 * mm, 50 * mm, 30 * mm]),
            ], ""),
        ]  # fmt: skip
    pdf.build(story)
    return out.getvalue()
