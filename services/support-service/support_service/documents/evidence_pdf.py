"""The evidence pack as a PDF, with ReportLab: the registration certificate as the LAs'
"herringbone" (a row a week, each weekday's morning and afternoon marks), the figures, the
chronology, the plans and every formal and legal step, ready for a head's signature."""

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from attendance_shared.pdf import BODY, GRID, H1
from attendance_shared.pdf import p as _p
from attendance_shared.pdf import section as _section
from attendance_shared.pdf import table as _table
from support_service.domain.herringbone import WEEKDAYS

UNAUTHORISED_FILL = colors.HexColor("#f6d5d5")


def _herringbone(certificate: dict[str, Any], unauthorised: set[str]) -> Table:
    header = ["Week of"] + [f"{d} {s}" for d in WEEKDAYS for s in ("AM", "PM")]
    rows = []
    marks = []
    for week in certificate["weeks"]:
        cells = [week["week_of"]]
        for day in WEEKDAYS:
            cells += [week["days"][day]["am"], week["days"][day]["pm"]]
        rows.append(cells)
        marks.append(cells[1:])
    table = Table([header, *rows], colWidths=[24 * mm] + [12.5 * mm] * 10, repeatRows=1)
    style = TableStyle([*GRID.getCommands(), ("ALIGN", (1, 0), (-1, -1), "CENTER")])
    for r, cells in enumerate(marks, start=1):
        for c, code in enumerate(cells, start=1):
            if code in unauthorised:
                style.add("BACKGROUND", (c, r), (c, r), UNAUTHORISED_FILL)
    table.setStyle(style)
    return table


def render(pack: dict[str, Any], unauthorised_codes: set[str]) -> bytes:
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Attendance evidence pack: {pack['pupil']['upn']}",
        author=pack["school"]["name"] or pack["school"]["urn"],
    )
    pupil, school, case = pack["pupil"], pack["school"], pack["case"]
    name = " ".join(part for part in (pupil["forename"], pupil["surname"]) if part) or pupil["upn"]
    story: list[Any] = [
        Paragraph("Attendance evidence pack", H1),
        _p(
            f"Pupil: {name} (UPN {pupil['upn']}, year {pupil['year_group'] or '?'}). "
            f"School: {school['name'] or ''} (URN {school['urn']}), LA {school['la_code']}. "
            f"Period {pack['period']['from']} to {pack['period']['to']}. "
            f"Generated {pack['generated_at'][:16].replace('T', ' ')} UTC by {pack['generated_by']}.",
            BODY,
        ),
        _p(
            "Parents and carers: "
            + (
                "; ".join(
                    f"{p['name']} ({p['relationship']})" if p["relationship"] else p["name"] for p in pupil["parents"]
                )
                or "none recorded"
            ),
            BODY,
        ),
        Spacer(1, 3 * mm),
    ]
    figures = pack["figures"] or {}
    story += _section(
        "Attendance figures",
        [
            _table(
                [
                    "Possible sessions",
                    "Attended",
                    "Authorised absence",
                    "Unauthorised absence",
                    "Attendance %",
                    "Overall absence %",
                    "Persistent absence",
                    "Severe absence",
                ],
                [
                    [
                        figures.get("possible_sessions"),
                        figures.get("attended_sessions"),
                        figures.get("authorised_absence_sessions"),
                        figures.get("unauthorised_absence_sessions"),
                        figures.get("attendance_rate"),
                        figures.get("overall_absence_rate"),
                        "yes" if figures.get("persistent_absence") else "no",
                        "yes" if figures.get("severe_absence") else "no",
                    ]
                ],
            )
        ]
        if figures
        else [],
        "No figures for the period.",
    )
    certificate = pack["registration_certificate"]
    last = certificate["last_100_possible_sessions"]
    story += _section(
        "Registration certificate (extract of the attendance register)",
        [
            _herringbone(certificate, unauthorised_codes),
            Spacer(1, 2 * mm),
            _p(
                f"Unauthorised absence in the last {last['possible']} possible sessions: {last['unauthorised']}. "
                "Shaded cells are unauthorised absence (G, N, O, U).",
                BODY,
            ),
            Spacer(1, 2 * mm),
            _table(["Code", "Meaning"], sorted(certificate["legend"].items()), [18 * mm, 160 * mm]),
        ]
        if certificate["weeks"]
        else [],
        "No marks recorded in the period.",
    )
    story += _section(
        "Amendments to the register",
        [
            _table(
                ["Date", "Session", "From", "To", "Reason", "Made by"],
                [
                    [a["date"], a["session"], a["previous_code"], a["code"], a["reason"], a["made_by"]]
                    for a in certificate["amendments"]
                ],
            )
        ]
        if certificate["amendments"]
        else [],
        "None.",
    )
    story.append(
        KeepTogether(
            [
                _p(
                    "I certify that the above is a true extract of the attendance register kept under the School "
                    "Attendance (Pupil Registration) (England) Regulations 2024 (s.566 Education Act 1996).",
                    BODY,
                ),
                Spacer(1, 8 * mm),
                _p("Signed ______________________   Headteacher        Date ______________", BODY),
                Spacer(1, 6 * mm),
            ]
        )
    )
    story += _section(
        f"Support case: {case['stage'].replace('_', ' ')} ({case['status']}), lead {case['lead']}",
        [
            _table(
                ["When", "From", "To", "Why", "By"],
                [
                    [h["changed_at"][:10], h["from_stage"], h["to_stage"], h["reason"], h["changed_by"]]
                    for h in case["stage_history"]
                ],
            ),
            Spacer(1, 2 * mm),
            _p(
                "Barriers: "
                + (
                    "; ".join(
                        f"{b['barrier']}" + (f": {b['notes']}" if b.get("notes") else "") for b in case["barriers"]
                    )
                    or "none recorded"
                ),
                BODY,
            ),
        ],
        "",
    )
    story += _section(
        "Chronology of contacts",
        [
            _table(
                ["When", "Kind", "By", "With", "Outcome", "Notes"],
                [
                    [
                        c["happened_at"][:16].replace("T", " "),
                        c["kind"],
                        c["made_by"],
                        c["with_whom"],
                        c["outcome"] + (" (corrected below)" if c["corrected_by"] else ""),
                        c["notes"],
                    ]
                    for c in pack["chronology"]
                ],
                [28 * mm, 28 * mm, 30 * mm, 40 * mm, 60 * mm, 80 * mm],
            )
        ]
        if pack["chronology"]
        else [],
        "No contacts recorded.",
    )
    plan_parts: list[Any] = []
    for plan in pack["plans"]:
        agreed = f"agreed by {plan['agreed_by']} on {plan['agreed_on']}" if plan["agreed_by"] else "not agreed"
        plan_parts += [
            _p(
                f"Plan from {plan['starts_on']}: target {plan['target_attendance_percent']:g}%, "
                f"review {plan['review_on']}, {agreed} ({plan['status']}).",
                BODY,
            ),
            _table(
                ["Action", "Type", "Owner", "Due", "Status"],
                [[a["what"], a["type"], a["owner"], a["due_on"], a["status"]] for a in plan["actions"]],
            ),
            Spacer(1, 2 * mm),
        ]
    story += _section("Support plans", plan_parts, "No plan recorded.")
    legal_parts: list[Any] = []
    for contract in pack["attendance_contracts"]:
        legal_parts.append(
            _p(
                f"Attendance contract agreed {contract['agreed_on']} with {', '.join(contract['agreed_with'])}: "
                f"parents to {'; '.join(contract['parent_requirements'])}. "
                f"Support: {'; '.join(contract['support_offered'])}. "
                f"Review {contract['review_on']} ({contract['status']}).",
                BODY,
            )
        )
    for order in pack["supervision_orders"]:
        legal_parts.append(
            _p(
                f"Education supervision order made {order['made_on']} (court {order['court_date']}), supervisor "
                f"{order['supervisor']}, expires {order['expires_on']} ({order['status']}).",
                BODY,
            )
        )
    for notice in pack["notices_to_improve"]:
        judgement = notice["judgement"] or {}
        legal_parts.append(
            _p(
                f"Notice to Improve issued {notice['issued_on']}: {notice['criterion_text']}, {notice['period_start']} "
                f"to {notice['period_end']}. Status: {notice['status'].replace('_', ' ')}"
                + (f" ({judgement['why']})." if judgement else "."),
                BODY,
            )
        )
    for penalty in pack["penalty_notices"]:
        amounts = f"£{penalty['lower_amount']} within 21 days, " if penalty["lower_amount"] else ""
        legal_parts.append(
            _p(
                f"Penalty notice issued {penalty['issued_on']} to {penalty['parent_name']} on "
                f"{len(penalty['sessions'])} sessions ({amounts}£{penalty['full_amount']} within 28 days): "
                f"{penalty['status']}"
                + (f", ground {penalty['withdrawal_ground']}" if penalty["withdrawal_ground"] else "")
                + (f", £{penalty['amount_paid']} paid {penalty['paid_on']}" if penalty["amount_paid"] else "")
                + ".",
                BODY,
            )
        )
    story += _section("Formal and legal stages", legal_parts, "None.")
    document.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()


def _footer(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(document.pagesize[0] - 14 * mm, 7 * mm, f"Page {document.page}  ·  OFFICIAL-SENSITIVE")
    canvas.restoreState()
