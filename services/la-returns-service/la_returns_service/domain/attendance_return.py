"""Each kind of return: its columns, and its rows from the projections and analytics' figures.
Pure: no I/O. Rows hold flat values only, so JSON and CSV read the same."""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import orjson

from attendance_shared.rules.deletion_grounds import DELETION_GROUNDS, DeletionGround

Record = Mapping[str, Any]  # the pupil's admission-register record as the last event gave it
# A run of continuous unauthorised absence, or a spell or year's total of illness, as
# analytics' `absence-runs` gives it (judged there by `attendance_shared.rules.absence_runs`).
RunItem = Mapping[str, Any]

PUPIL_COLUMNS = ("school_urn", "school_name", "upn", "legal_surname", "legal_forename", "date_of_birth", "year_group")
FIGURE_COLUMNS = (
    "possible_sessions",
    "attended_sessions",
    "authorised_absence_sessions",
    "unauthorised_absence_sessions",
    "attendance_rate",
    "overall_absence_rate",
    "persistent_absence",
    "severe_absence",
)
COHORT_COLUMNS = (
    "social_worker",
    "looked_after",
    "sen_status",
    "fsm_eligible",
    "eal",
    # The DfE daily collection's own cohort fields.
    "previously_looked_after",
    "child_in_need",
    "child_protection_plan",
    "ethnicity",
    "registration_group",
)
CONTINUOUS_COLUMNS = (
    "continuous_unauthorised_school_days",
    "continuous_unauthorised_since",
    "continuous_unauthorised_until",
)
ATTENDANCE_COLUMNS = (
    *PUPIL_COLUMNS,
    "admitted_on",
    *FIGURE_COLUMNS,
    "late_sessions",
    *CONTINUOUS_COLUMNS,
    "fails_to_attend_regularly",
    "address",
    *COHORT_COLUMNS,
)
ADMISSION_COLUMNS = (
    "sex",
    "preferred_surname",
    "preferred_forename",
    "admission_date",
    "address",
    "parents",
    "emergency_phones",
    "previous_school_urn",
    "previous_school_name",
    "boarder",
    "fsm_eligible",
    "pupil_premium",
    "sen_status",
    "eal",
    "looked_after",
    "social_worker",
    "youth_offending_worker",
    "virtual_school_contact",
)
NEW_PUPIL_COLUMNS = (*PUPIL_COLUMNS, *ADMISSION_COLUMNS, "due_on", "status")
DELETION_COLUMNS = (
    *PUPIL_COLUMNS,
    "address",
    "parents",
    "emergency_phones",
    "left_on",
    "ground_met_on",
    "ground",
    "ground_description",
    "destination_school_urn",
    "destination_school_name",
    "destination_start_date",
    "due_on",
)
SICKNESS_COLUMNS = (
    *PUPIL_COLUMNS,
    "address",
    "qualified_by",
    "first_illness_day",
    "last_illness_day",
    "illness_school_days",
    "illness_sessions",
    "reached_15_days_on",
    "ongoing",
)
# How a sickness row qualified: one continuous spell, or the school year's illness together.
QUALIFIED_BY = {"sickness_spell": "consecutive", "sickness_cumulative": "cumulative"}
SOCIAL_WORKER_COLUMNS = (
    *PUPIL_COLUMNS,
    "social_worker_name",
    "social_worker_email",
    "social_worker_phone",
    "looked_after",
    "youth_offending_worker",
    "virtual_school_contact",
    *FIGURE_COLUMNS,
    *CONTINUOUS_COLUMNS,
)
COHORTS = ("all", "social_worker", "looked_after", "sen")
SCHOOL_ATTENDANCE_COLUMNS = (
    "school_urn",
    "school_name",
    "cohort",
    "pupils",
    "possible_sessions",
    "attended_sessions",
    "authorised_absence_sessions",
    "unauthorised_absence_sessions",
    "overall_absence_rate",
    "persistent_absence_pupils",
    "severe_absence_pupils",
    "continuous_unauthorised_10_days_pupils",
)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def address_of(record: Record) -> str | None:
    address = record.get("address")
    if not address:
        return None
    return ", ".join(part for part in (*address["lines"], address.get("town"), address["postcode"]) if part)


def _person(person: Record | None) -> str | None:
    if not person:
        return None
    return "; ".join(str(v) for v in (person.get("name"), person.get("email"), person.get("phone")) if v)


def parents_of(record: Record) -> str | None:
    contacts = record.get("contacts") or ()
    return (
        " | ".join(f"{c['name']} ({c['relationship']})" if c.get("relationship") else c["name"] for c in contacts)
        or None
    )


def emergency_phones_of(record: Record) -> str | None:
    return " | ".join(f"{c['name']}: {c['phone']}" for c in record.get("contacts") or () if c.get("phone")) or None


def pupil_columns(school: Record, upn: str, record: Record | None) -> dict[str, Any]:
    record = record or {}
    return {
        "school_urn": school["urn"],
        "school_name": school["name"],
        "upn": upn,
        "legal_surname": record.get("legal_surname"),
        "legal_forename": record.get("legal_forename"),
        "date_of_birth": _text(record.get("date_of_birth")),
        "year_group": record.get("year_group"),
    }


def cohort_columns(record: Record) -> dict[str, Any]:
    return {
        "social_worker": record.get("social_worker") is not None,
        "looked_after": bool(record.get("looked_after")),
        "sen_status": record.get("sen_status", "none"),
        "fsm_eligible": bool(record.get("fsm_eligible")),
        "eal": bool(record.get("eal")),
        "previously_looked_after": bool(record.get("previously_looked_after")),
        "child_in_need": bool(record.get("child_in_need")),
        "child_protection_plan": bool(record.get("child_protection_plan")),
        "ethnicity": record.get("ethnicity"),
        "registration_group": record.get("registration_group"),
    }


def continuous_columns(runs: Sequence[RunItem]) -> dict[str, Any]:
    """The latest reportable run of unauthorised absence, if any."""
    run = runs[-1] if runs else None
    return {
        "continuous_unauthorised_school_days": int(run["school_days"]) if run else 0,
        "continuous_unauthorised_since": run["start"] if run else None,
        "continuous_unauthorised_until": run["end"] if run else None,
    }


def attendance_row(
    school: Record,
    upn: str,
    record: Record | None,
    figures: Record,
    late_sessions: int,
    runs: Sequence[RunItem],
    admitted_on: str | None = None,
) -> dict[str, Any]:
    record = record or {}
    return {
        **pupil_columns(school, upn, record),
        # A pupil with two stays in the year has a row for each, as analytics counts them.
        "admitted_on": admitted_on,
        **{name: figures[name] for name in FIGURE_COLUMNS},
        "late_sessions": late_sessions,
        **continuous_columns(runs),
        # Reg 13: pupils who fail to attend regularly (persistent absence by the DfE measure)
        # or were absent 10 continuous school days without authorisation.
        "fails_to_attend_regularly": bool(figures["persistent_absence"]) or bool(runs),
        "address": address_of(record),
        **cohort_columns(record),
    }


def new_pupil_row(school: Record, record: Record, *, due_on: str, overdue: bool) -> dict[str, Any]:
    previous = record.get("previous_school") or {}
    return {
        **pupil_columns(school, record["upn"], record),
        "sex": record.get("sex"),
        "preferred_surname": record.get("preferred_surname"),
        "preferred_forename": record.get("preferred_forename"),
        "admission_date": _text(record.get("admission_date")),
        "address": address_of(record),
        "parents": parents_of(record),
        "emergency_phones": emergency_phones_of(record),
        "previous_school_urn": previous.get("urn"),
        "previous_school_name": previous.get("name"),
        "boarder": bool(record.get("boarder")),
        "fsm_eligible": bool(record.get("fsm_eligible")),
        "pupil_premium": bool(record.get("pupil_premium")),
        "sen_status": record.get("sen_status", "none"),
        "eal": bool(record.get("eal")),
        "looked_after": bool(record.get("looked_after")),
        "social_worker": _person(record.get("social_worker")),
        "youth_offending_worker": _person(record.get("youth_offending_worker")),
        "virtual_school_contact": _person(record.get("virtual_school_contact")),
        "due_on": due_on,
        "status": "overdue" if overdue else "due",
    }


def deletion_row(school: Record, record: Record, deletion: Record) -> dict[str, Any]:
    ground_met_on = deletion.get("ground_met_on") or deletion["left_on"]
    return {
        **pupil_columns(school, record["upn"], record),
        "address": address_of(record),
        "parents": parents_of(record),
        "emergency_phones": emergency_phones_of(record),
        "left_on": _text(deletion["left_on"]),
        "ground_met_on": _text(ground_met_on),
        "ground": deletion["ground"],
        "ground_description": DELETION_GROUNDS[DeletionGround(deletion["ground"])],
        "destination_school_urn": deletion.get("destination_school_urn"),
        "destination_school_name": deletion.get("destination_school_name"),
        "destination_start_date": _text(deletion.get("destination_start_date")),
        # Due as soon as the ground is met and no later than the deletion itself.
        "due_on": _text(ground_met_on),
    }


def sickness_row(school: Record, upn: str, record: Record | None, run: RunItem) -> dict[str, Any]:
    """Reg 13: a pupil missing 15 school days through sickness, consecutive or cumulative; one
    row per continuous spell, and one for the school year's illness taken together."""
    return {
        **pupil_columns(school, upn, record),
        "address": address_of(record or {}),
        "qualified_by": QUALIFIED_BY[run["qualified_by"]],
        "first_illness_day": run["start"],
        "last_illness_day": run["end"],
        "illness_school_days": run["school_days"],
        "illness_sessions": run["sessions"],
        "reached_15_days_on": run["reached_threshold_on"],
        "ongoing": run["ongoing"] if run["qualified_by"] == "sickness_spell" else None,
    }


def social_worker_row(
    school: Record, upn: str, record: Record, figures: Record, runs: Sequence[RunItem]
) -> dict[str, Any]:
    worker = record.get("social_worker") or {}
    return {
        **pupil_columns(school, upn, record),
        "social_worker_name": worker.get("name"),
        "social_worker_email": worker.get("email"),
        "social_worker_phone": worker.get("phone"),
        "looked_after": bool(record.get("looked_after")),
        "youth_offending_worker": _person(record.get("youth_offending_worker")),
        "virtual_school_contact": _person(record.get("virtual_school_contact")),
        **{name: figures[name] for name in FIGURE_COLUMNS},
        **continuous_columns(runs),
    }


def in_cohort(cohort: str, row: Record) -> bool:
    match cohort:
        case "social_worker":
            return bool(row["social_worker"])
        case "looked_after":
            return bool(row["looked_after"])
        case "sen":
            return row["sen_status"] != "none"
    return True


def school_rows(school: Record, pupil_rows: Iterable[Record]) -> list[dict[str, Any]]:
    """One line per cohort of a school, summed from its pupils' attendance rows."""
    rows = list(pupil_rows)
    lines = []
    for cohort in COHORTS:
        members = [r for r in rows if in_cohort(cohort, r)]
        possible = sum(r["possible_sessions"] for r in members)
        authorised = sum(r["authorised_absence_sessions"] for r in members)
        unauthorised = sum(r["unauthorised_absence_sessions"] for r in members)
        lines.append(
            {
                "school_urn": school["urn"],
                "school_name": school["name"],
                "cohort": cohort,
                "pupils": len(members),
                "possible_sessions": possible,
                "attended_sessions": sum(r["attended_sessions"] for r in members),
                "authorised_absence_sessions": authorised,
                "unauthorised_absence_sessions": unauthorised,
                "overall_absence_rate": round(100 * (authorised + unauthorised) / possible, 2) if possible else None,
                "persistent_absence_pupils": sum(bool(r["persistent_absence"]) for r in members),
                "severe_absence_pupils": sum(bool(r["severe_absence"]) for r in members),
                "continuous_unauthorised_10_days_pupils": sum(
                    r["continuous_unauthorised_school_days"] > 0 for r in members
                ),
            }
        )
    return lines


PART_TIME_COLUMNS = (
    *PUPIL_COLUMNS,
    "timetable",  # the timetable's id, or "none this period" on a school's zero return
    "reason",
    "attended_sessions",
    "start_date",
    "end_date",
    "status",
    "ended_on",
    "extensions",
    "next_review_on",
    "last_reviewed_on",
    "review_overdue",
    "past_end",
    "parents_consent_on",
    "la_notified_on",
    "social_worker_told",
    "virtual_school_told",
)
NONE_THIS_PERIOD = "none this period"


def part_time_row(school: Record, record: Record | None, timetable: Record, today: date) -> dict[str, Any]:
    """One timetable that ran in the period, as it stands (its latest version)."""
    record = record or {}
    active = timetable["status"] == "active"
    next_review = timetable.get("next_review_on")
    return {
        "school_urn": school["urn"],
        "school_name": school["name"],
        "upn": timetable["upn"],
        "legal_surname": record.get("legal_surname"),
        "legal_forename": record.get("legal_forename"),
        "date_of_birth": record.get("date_of_birth"),
        "year_group": record.get("year_group"),
        "timetable": timetable["timetable_id"],
        "reason": timetable["reason"],
        "attended_sessions": ";".join(timetable["attended_sessions"]),
        "start_date": timetable["start_date"],
        "end_date": timetable["end_date"],
        "status": timetable["status"],
        "ended_on": timetable.get("ended_on"),
        "extensions": timetable["extensions"],
        "next_review_on": next_review,
        "last_reviewed_on": timetable.get("last_reviewed_on"),
        "review_overdue": active and next_review is not None and date.fromisoformat(next_review) < today,
        "past_end": active and date.fromisoformat(timetable["end_date"]) < today,
        "parents_consent_on": timetable.get("parents_consent_on"),
        "la_notified_on": timetable.get("la_notified_on"),
        "social_worker_told": timetable["social_worker_told"],
        "virtual_school_told": timetable["virtual_school_told"],
    }


def none_this_period_row(school: Record) -> dict[str, Any]:
    """A school's zero return: no pupil was on a part-time timetable in the period, which
    several LAs want said rather than left to silence."""
    return {column: None for column in PART_TIME_COLUMNS} | {
        "school_urn": school["urn"],
        "school_name": school["name"],
        "timetable": NONE_THIS_PERIOD,
    }


COLUMNS_OF_KIND: dict[str, tuple[str, ...]] = {
    "new-pupils": NEW_PUPIL_COLUMNS,
    "deletions": DELETION_COLUMNS,
    "attendance": ATTENDANCE_COLUMNS,
    "school-attendance": SCHOOL_ATTENDANCE_COLUMNS,
    "sickness": SICKNESS_COLUMNS,
    "social-worker": SOCIAL_WORKER_COLUMNS,
    "part-time-timetables": PART_TIME_COLUMNS,
}


def encode(row: Mapping[str, Any]) -> bytes:
    """A row as stored, and as its checksum reads it: JSON with sorted keys."""
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


class Checksum:
    """sha256 over the rows in order, each as `encode` gives it and a newline, taken a batch at
    a time so a return is never held whole."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, encoded: bytes) -> None:
        self._digest.update(encoded)
        self._digest.update(b"\n")

    @property
    def value(self) -> str:
        return f"sha256:{self._digest.hexdigest()}"


def checksum(rows: Iterable[Mapping[str, Any]]) -> str:
    digest = Checksum()
    for row in rows:
        digest.add(encode(row))
    return digest.value
