"""The range of every value the platform takes in: free text, dates, moments, counters.

The same types check a request at the edge (a 422 naming the field) and an event a consumer
reads (a dead letter naming the field), so nothing out of range is ever stored, published or
handed to PostgreSQL, whose refusal would name no field.

Free text: every field a person types has a documented maximum. Any length constraint also
makes Pydantic refuse a lone surrogate (`"\\udfff"`), which no UTF-8 store can hold; the
pattern refuses NUL, which PostgreSQL's text cannot.

The maximums are in the README ("Limits"): change them there too.
"""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

# Days the platform has any business with: registers, admissions, births, reports.
EARLIEST_DAY, LATEST_DAY = date(1990, 8, 1), date(2100, 7, 31)
EARLIEST_MOMENT = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(2101, 1, 1, tzinfo=UTC)
# PostgreSQL's bigint, which every id and cursor part is.
INT64_MAX = 2**63 - 1
# PostgreSQL's integer, which counts are.
INT32_MAX = 2**31 - 1
# Amendments of one mark: far beyond any real register, well inside PostgreSQL's integer.
MAX_REVISION = 1_000_000

# A person's name, each part: the DfE's Common Basic Data Set allows 100 characters.
PERSON_NAME_MAX = 100
# A job title, a relationship to a pupil ("mother", "foster carer"), a term's name.
LABEL_MAX = 100
# A school's or another organisation's name.
ORGANISATION_NAME_MAX = 200
ADDRESS_LINE_MAX = 100
TOWN_MAX = 100
# A UK postcode is at most 8 characters with its space; room for an overseas one.
POSTCODE_MAX = 16
# RFC 5321's limit on an address in a mail path.
EMAIL_MAX = 254
# E.164 allows 15 digits; room for a prefix, spaces and an extension.
PHONE_MAX = 32
# A reason for an amendment or a closure, a parent's report, a note on a mark.
REASON_MAX = 500
NOTE_MAX = 500

_NO_NUL = r"^[^\x00]*$"


def text(max_length: int, *, strip: bool = False, min_length: int = 0) -> type[str]:
    """A string of at most `max_length` characters, free of NUL and lone surrogates; `strip`
    trims surrounding whitespace first (and then `min_length` counts what is left)."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=_NO_NUL),
    ]


PersonName = text(PERSON_NAME_MAX)
Label = text(LABEL_MAX)
OrganisationName = text(ORGANISATION_NAME_MAX)
AddressLine = text(ADDRESS_LINE_MAX)
Town = text(TOWN_MAX)
Postcode = text(POSTCODE_MAX)
Email = text(EMAIL_MAX)
Phone = text(PHONE_MAX)
ReasonText = text(REASON_MAX)
NoteText = text(NOTE_MAX)


# Checked by Pydantic's core, not a Python validator: every mark event a consumer reads has two
# of these, and a Python call each was a third of the cost of parsing one. Moments are
# compared in UTC: 0001-01-01T00:00+14:00 is a valid Python datetime but no PostgreSQL
# timestamp, and 9999-12-31T23:59-23:59 is past the end of Python's calendar in UTC.
BoundedDate = Annotated[date, Field(ge=EARLIEST_DAY, le=LATEST_DAY)]
# An instant with its UTC offset, within the platform's years.
Moment = Annotated[AwareDatetime, Field(ge=EARLIEST_MOMENT, le=LATEST_MOMENT)]
Revision = Annotated[int, Field(ge=1, le=MAX_REVISION)]
