"""Governor reports and Targeting Support Meeting packs: one school's term, compiled from
analytics' answers (the very figures its API gives), this service's pupils and part-time
timetables, and support-service's casework; stored once, with the PDF rendered from it, and
never changed. Actions agreed at the meeting are kept beside the pack."""

import base64
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.auth import Actor
from attendance_shared.cursors import decode_cursor, int64, uuid_of
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.rules.explained import explain
from la_returns_service.clients.analytics import AnalyticsClient, SupportClient
from la_returns_service.documents.reports_pdf import render
from la_returns_service.repository import reports as report_store
from la_returns_service.repository import store
from la_returns_service.schemas import (
    MeetingActionIn,
    MeetingActionOut,
    ReportDocument,
    ReportPage,
    ReportSummary,
)

# Cohorts whose gaps a board and a TSM look at (the DfE's published splits).
GAP_COHORTS = ("fsm_eligible", "pupil_premium", "sen_status", "year_group")
# The pupil's cohorts a TSM pack lists beside their figures, from the admission register.
PUPIL_COHORTS = ("year_group", "fsm_eligible", "pupil_premium", "sen_status", "looked_after", "eal")
EMPTY_CASEWORK = "No open support case for this pupil in support-service."


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, date) else value  # type: ignore[return-value]


async def _term(analytics: AnalyticsClient, urn: str, on: date, today: date) -> dict[str, Any]:
    found = await analytics.get(f"/v1/schools/{urn}/attendance", {"period": "term", "on": on.isoformat()})
    if found is None:
        raise NotFound(f"no attendance recorded for school {urn}")
    term = found["period"]
    if date.fromisoformat(term["start"]) > today:
        raise Unprocessable.of_field("on", f"the {term['name'] or 'term'} term has not started: report on a term begun")
    return term


def _headline(answer: dict[str, Any]) -> dict[str, Any]:
    figures = answer["figures"]
    return {
        "pupils": answer["pupils"],
        "possible_sessions": figures["possible_sessions"],
        "attendance_rate": figures["attendance_rate"],
        "overall_absence_rate": figures["overall_absence_rate"],
        "authorised_absence_rate": figures["authorised_absence_rate"],
        "unauthorised_absence_rate": figures["unauthorised_absence_rate"],
        "persistent_absence_pupils": answer["persistent_absence_pupils"],
        "persistent_absence_rate": answer["persistent_absence_rate"],
        "severe_absence_pupils": answer["severe_absence_pupils"],
        "severe_absence_rate": answer["severe_absence_rate"],
    }


def _gap(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "group": group["group"],
        "pupils": group["pupils"],
        "overall_absence_rate": group["figures"]["overall_absence_rate"],
        "persistent_absence_rate": group["persistent_absence_rate"],
    }


async def _school_part(analytics: AnalyticsClient, urn: str, start: date, end: date) -> dict[str, Any]:
    period = {"from": start.isoformat(), "to": end.isoformat()}
    school = f"/v1/schools/{urn}"
    headline = await analytics.get(f"{school}/attendance", period)
    if headline is None or not headline["pupils"]:
        raise Unprocessable.of_field("on", "no attendance is recorded for the school in that term")
    benchmarks = await analytics.get(f"{school}/benchmarks", period)
    weekly = await analytics.get(f"{school}/attendance/weekly", period) or {"weeks": []}
    bands = await analytics.get(f"{school}/absence-bands", period)
    reasons = await analytics.get(f"{school}/absence-reasons", period)
    year_on_year = await analytics.get(f"{school}/attendance/year-on-year", {"on": end.isoformat()})
    gaps = {}
    for attribute in GAP_COHORTS:
        split = await analytics.get(f"{school}/attendance", {**period, "group_by": attribute})
        gaps[attribute] = [_gap(g) for g in (split or {}).get("groups", [])]
    national = (benchmarks or {}).get("national") or {}
    return {
        "headline": _headline(headline),
        "comparison": {
            "school": _headline(headline),
            "la": _headline(benchmarks["local_authority"]) if benchmarks else None,
            "england": {
                "period": national.get("period"),
                "phase": national.get("phase"),
                "overall_absence_rate": national.get("overall_absence_rate"),
                "unauthorised_absence_rate": national.get("unauthorised_absence_rate"),
                "persistent_absence_rate": national.get("persistent_absence_rate"),
                "severe_absence_rate": national.get("severe_absence_rate"),
                "reference_version": (benchmarks or {}).get("reference_version"),
            },
        },
        "trend": [
            {"week_start": w["week_start"], "attendance_rate": w["figures"]["attendance_rate"]} for w in weekly["weeks"]
        ],
        "bands": {
            "width": bands["width"],
            "pupils_counted": bands["pupils_counted"],
            "pupils_not_counted": bands["pupils_not_counted"],
            "bands": [{"band": b["band"], "pupils": b["pupils"], "share": b["share"]} for b in bands["bands"]],
        },
        "cohort_gaps": gaps,
        "reasons": [
            {k: r[k] for k in ("reason", "label", "sessions", "rate", "national_rate", "national_period")}
            for r in reasons["reasons"]
        ],
        "year_on_year": None
        if year_on_year is None or year_on_year["last_year"] is None
        else {
            "school_day_number": year_on_year["school_day_number"],
            "this_year": _year_part(year_on_year["this_year"]),
            "last_year": _year_part(year_on_year["last_year"]),
            "change": year_on_year["change"],
        },
    }


def _year_part(part: dict[str, Any]) -> dict[str, Any]:
    return {
        "from": part["period"]["start"],
        "to": part["period"]["end"],
        "attendance_rate": part["figures"]["attendance_rate"],
        "overall_absence_rate": part["figures"]["overall_absence_rate"],
        "persistent_absence_rate": part["persistent_absence_rate"],
    }


def _case_part(brief: dict[str, Any] | None) -> dict[str, Any] | None:
    if brief is None:
        return None
    plan = brief["plan"]
    return {
        "stage": brief["stage"],
        "lead": brief["lead"],
        "barriers": brief["barriers"],
        "last_contact_on": brief["last_contact_at"][:10] if brief["last_contact_at"] else None,
        "target_attendance_percent": plan["target_attendance_percent"] if plan else None,
        "review_on": plan["review_on"] if plan else None,
        "agreed_actions": [
            {"what": a["what"], "owner": a["owner"], "due_on": a["due_on"], "status": a["status"]}
            for a in (plan["actions"] if plan else [])
        ],
    }


async def _pupils_part(
    session: AsyncSession,
    analytics: AnalyticsClient,
    support: SupportClient,
    *,
    urn: str,
    la_code: str,
    start: date,
    end: date,
) -> dict[str, Any]:
    figures = [item async for item in analytics.pupil_figures(urn, start, end)]
    listed = [f for f in figures if f["figures"]["persistent_absence"]]
    records = await store.pupil_records(session, [urn], sorted({f["upn"] for f in listed}))
    cases = {brief["upn"]: brief async for brief in support.case_summaries(urn)}

    def line(item: dict[str, Any]) -> dict[str, Any]:
        f = item["figures"]
        absent = f["authorised_absence_sessions"] + f["unauthorised_absence_sessions"]
        record = records.get((urn, item["upn"]))
        values = record.record if record is not None else {}
        return {
            "upn": item["upn"],
            "name": f"{values.get('legal_forename', '')} {values.get('legal_surname', '')}".strip() or None,
            "cohorts": {c: values.get(c) for c in PUPIL_COHORTS},
            "possible_sessions": f["possible_sessions"],
            "absent_sessions": absent,
            "unauthorised_sessions": f["unauthorised_absence_sessions"],
            "overall_absence_rate": f["overall_absence_rate"],
            "explained": explain(absent, f["possible_sessions"], 0).text,
            "case": _case_part(cases.get(item["upn"])),
        }

    by_rate = sorted(listed, key=lambda i: (-(i["figures"]["overall_absence_rate"] or 0), i["upn"]))
    runs = [r async for r in analytics.absence_runs(urn, start, end, "continuous_unauthorised")]
    timetables = [
        t for t in await store.part_time_timetables_between(session, la_code, start, end) if t.school_urn == urn
    ]
    return {
        "severe_absence": [line(i) for i in by_rate if i["figures"]["severe_absence"]],
        "persistent_absence": [line(i) for i in by_rate if not i["figures"]["severe_absence"]],
        "continuous_absence": [{k: r[k] for k in ("upn", "start", "end", "school_days", "ongoing")} for r in runs],
        "part_time_timetables": [
            {
                "upn": t.upn,
                "start": _iso(t.start_date),
                "last_day": _iso(t.last_day),
                "reason": t.timetable.get("reason"),
                "status": t.timetable.get("status"),
                "next_review_on": t.timetable.get("next_review_on"),
            }
            for t in timetables
        ],
        "open_cases": len(cases),
    }


async def compile_report(
    session: AsyncSession,
    analytics: AnalyticsClient,
    support: SupportClient,
    *,
    urn: str,
    kind: str,
    on: date,
    today: date,
    trigger: str = "request",
) -> ReportSummary:
    school = await store.school_row(session, urn)
    if school is None:
        raise NotFound(f"school {urn} not found")
    if on > today:
        raise Unprocessable.of_field("on", "is in the future: report on a term begun")
    term = await _term(analytics, urn, on, today)
    start = date.fromisoformat(term["start"])
    end = min(date.fromisoformat(term["end"]), today)
    document: dict[str, Any] = {
        "kind": kind,
        "school": {"urn": urn, "name": school.name, "la_code": school.la_code},
        "term": {
            "name": term["name"],
            "from": start.isoformat(),
            "to": end.isoformat(),
            "complete": date.fromisoformat(term["end"]) < today,
        },
        **await _school_part(analytics, urn, start, end),
    }
    if kind == "tsm-pack":
        document["pupils"] = await _pupils_part(
            session, analytics, support, urn=urn, la_code=school.la_code, start=start, end=end
        )
    report_id = uuid.uuid4()
    document["id"] = str(report_id)
    pdf = render(document)
    row = await report_store.add(
        session,
        {
            "id": report_id,
            "kind": kind,
            "school_urn": urn,
            "la_code": school.la_code,
            "term": term["name"],
            "period_start": start,
            "period_end": end,
            "trigger": trigger,
            "checksum": hashlib.sha256(pdf).hexdigest(),
            "document": document,
            "pdf": pdf,
        },
    )
    return summary_of(row)


def summary_of(row: Row) -> ReportSummary:
    return ReportSummary(
        id=row.id,
        kind=row.kind,
        school_urn=row.school_urn,
        la_code=row.la_code,
        term=row.term,
        start=row.period_start,
        end=row.period_end,
        generated_at=row.generated_at,
        trigger=row.trigger,
        checksum=row.checksum,
    )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor_of(row: ReportSummary) -> str:
    micros = (row.generated_at - EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}_{row.id}".encode()).decode().rstrip("=")


def _place(text: str) -> tuple[datetime, uuid.UUID]:
    padded = text + "=" * (-len(text) % 4)
    micros, row_id = base64.urlsafe_b64decode(padded).decode().split("_", 1)
    return EPOCH + timedelta(microseconds=int64(micros)), uuid_of(row_id)


async def list_reports(
    session: AsyncSession, *, urn: str | None, la_code: str | None, kind: str | None, cursor: str | None, limit: int
) -> ReportPage:
    """Oldest first, so a poller keeps the last cursor and asks again for what is new."""
    after = decode_cursor(cursor, _place) if cursor else None
    rows = await report_store.page(session, urn=urn, la_code=la_code, kind=kind, after=after, limit=limit + 1)
    items = [summary_of(r) for r in rows[:limit]]
    return ReportPage(items=items, next_cursor=_cursor_of(items[-1]) if len(rows) > limit else None)


async def get_report(session: AsyncSession, urn: str, report_id: uuid.UUID) -> Row:
    row = await report_store.get(session, urn, report_id)
    if row is None:
        raise NotFound(f"report {report_id} not found at school {urn}")
    return row


async def report_document(session: AsyncSession, urn: str, report_id: uuid.UUID) -> ReportDocument:
    row = await get_report(session, urn, report_id)
    actions = await report_store.actions(session, report_id)
    return ReportDocument(
        **summary_of(row).model_dump(),
        document=row.document,
        agreed_actions=[_action_out(a) for a in actions],
    )


def _action_out(row: Row) -> MeetingActionOut:
    return MeetingActionOut(
        id=row.id,
        upn=row.upn,
        action=row.action,
        owner=row.owner,
        due_on=row.due_on,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


async def record_actions(
    session: AsyncSession, urn: str, report_id: uuid.UUID, body: list[MeetingActionIn], *, actor: Actor
) -> list[MeetingActionOut]:
    """All or nothing: every action must name a pupil the pack lists (or none, for the school)."""
    row = await get_report(session, urn, report_id)
    if row.kind != "tsm-pack":
        raise Unprocessable.of_field("report_id", "actions are agreed at a Targeting Support Meeting: use its pack")
    listed = {
        p["upn"]
        for part in ("severe_absence", "persistent_absence")
        for p in row.document.get("pupils", {}).get(part, [])
    }
    problems = [
        (f"[{i}].upn", f"pupil {a.upn} is not on the pack's lists")
        for i, a in enumerate(body)
        if a.upn is not None and a.upn not in listed
    ]
    if problems:
        raise Unprocessable.of_fields(problems)
    added = await report_store.add_actions(
        session,
        [{"id": uuid.uuid4(), "report_id": report_id, **a.model_dump(), "recorded_by": actor.subject} for a in body],
    )
    return [_action_out(a) for a in added]


def csv_lines(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document as rows a spreadsheet reads: section, item, measure, value."""
    rows: list[dict[str, Any]] = []

    def add(section: str, item: str, values: dict[str, Any]) -> None:
        for measure, value in values.items():
            if not isinstance(value, dict | list):
                rows.append({"section": section, "item": item, "measure": measure, "value": value})

    add("headline", "school", document["headline"])
    for who in ("la", "england"):
        if document["comparison"].get(who):
            add("comparison", who, document["comparison"][who])
    for week in document["trend"]:
        add("trend", week["week_start"], {"attendance_rate": week["attendance_rate"]})
    for band in document["bands"]["bands"]:
        add("bands", band["band"], {"pupils": band["pupils"], "share": band["share"]})
    for attribute, groups in document["cohort_gaps"].items():
        for group in groups:
            add(f"cohort_gaps.{attribute}", group["group"], group)
    for reason in document["reasons"]:
        add("reasons", reason["reason"], reason)
    if document["year_on_year"]:
        for part in ("this_year", "last_year"):
            add("year_on_year", part, document["year_on_year"][part])
    for part in ("severe_absence", "persistent_absence"):
        for pupil in document.get("pupils", {}).get(part, []):
            add(part, pupil["upn"], {**pupil, **{f"cohort.{k}": v for k, v in pupil["cohorts"].items()}})
    return rows
