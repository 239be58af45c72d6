"""The attendance return's columns and rows, and the checksum that pins a snapshot. Pure."""

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

ATTENDANCE_COLUMNS = (
    "school_urn",
    "school_name",
    "upn",
    "legal_surname",
    "legal_forename",
    "date_of_birth",
    "year_group",
    "possible_sessions",
    "attended_sessions",
    "authorised_absence_sessions",
    "unauthorised_absence_sessions",
    "attendance_rate",
    "overall_absence_rate",
    "persistent_absence",
    "severe_absence",
)


def attendance_row(
    school: Mapping[str, Any], pupil: Mapping[str, Any] | None, figures: Mapping[str, Any], upn: str
) -> dict[str, Any]:
    pupil = pupil or {}
    return {
        "school_urn": school["urn"],
        "school_name": school["name"],
        "upn": upn,
        "legal_surname": pupil.get("legal_surname"),
        "legal_forename": pupil.get("legal_forename"),
        "date_of_birth": str(pupil["date_of_birth"]) if pupil.get("date_of_birth") else None,
        "year_group": pupil.get("year_group"),
        "possible_sessions": figures["possible_sessions"],
        "attended_sessions": figures["attended_sessions"],
        "authorised_absence_sessions": figures["authorised_absence_sessions"],
        "unauthorised_absence_sessions": figures["unauthorised_absence_sessions"],
        "attendance_rate": figures["attendance_rate"],
        "overall_absence_rate": figures["overall_absence_rate"],
        "persistent_absence": figures["persistent_absence"],
        "severe_absence": figures["severe_absence"],
    }


def checksum(rows: Iterable[Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
        digest.update(b"\n")
    return f"sha256:{digest.hexdigest()}"
