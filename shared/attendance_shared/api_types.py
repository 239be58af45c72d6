"""Values every API takes, validated by their exact shape before any lookup: identifiers in
paths and queries, dates as `YYYY-MM-DD`, wall-clock times as `HH:MM`.

Pydantic's lax mode would read `0` or `1.5e3` as a date (seconds since 1970); an integrator
who sent that has a bug, and must hear about it rather than get 1 January 1970.
"""

import re
from datetime import date, time
from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator, WithJsonSchema

from attendance_shared.bounds import BoundedDate
from attendance_shared.rules.identifiers import LA_CODE_PATTERN, TRUST_ID_PATTERN, UPN_SHAPE_PATTERN, URN_PATTERN

URNPath = Annotated[str, Path(pattern=URN_PATTERN, description="School URN (6 digits)")]
UPNPath = Annotated[str, Path(pattern=UPN_SHAPE_PATTERN, description="Pupil UPN (13 characters)")]
LACodePath = Annotated[str, Path(pattern=LA_CODE_PATTERN, description="LA code (3 digits)")]
TrustPath = Annotated[str, Path(pattern=TRUST_ID_PATTERN, description="Trust or federation (GIAS group UID)")]
UPNQuery = Annotated[str | None, Query(pattern=UPN_SHAPE_PATTERN, description="Only this pupil (UPN)")]
UPNCursor = Annotated[
    str | None, Query(pattern=UPN_SHAPE_PATTERN, description="`next_cursor` of the previous page (a UPN)")
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"


def _date_as_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _time_as_text(value: object) -> object:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(_CLOCK_TIME_PATTERN, value):
        raise ValueError("must be a time written HH:MM (24-hour clock)")
    return value


# Within the platform's years too (`bounds`): arithmetic on 9999-12-31 overflows Python's calendar.
IsoDate = Annotated[BoundedDate, BeforeValidator(_date_as_text)]
# A wall-clock time in England. JSON Schema's `time` format demands a UTC offset, which a
# register closing time does not have, so the schema states the shape it really takes.
LocalTime = Annotated[
    time,
    BeforeValidator(_time_as_text),
    WithJsonSchema({"type": "string", "pattern": _CLOCK_TIME_PATTERN, "examples": ["09:00"]}),
]
