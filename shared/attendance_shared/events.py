"""The event envelope (CloudEvents attribute names, JSON) and every event payload.

Payloads are versioned models of their own: never a table class or an API schema.
Consumers call `parse_event`, which refuses anything that does not validate.
"""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SerializeAsAny, StringConstraints, ValidationError

from attendance_shared.rules.codes import ATTENDANCE_CODES
from attendance_shared.rules.identifiers import LA_CODE_PATTERN, URN_PATTERN

URN = Annotated[str, StringConstraints(pattern=URN_PATTERN)]
LACode = Annotated[str, StringConstraints(pattern=LA_CODE_PATTERN)]
UPN = Annotated[str, StringConstraints(min_length=13, max_length=13)]
Session = Literal["am", "pm"]


def _known_code(value: str) -> str:
    if value not in ATTENDANCE_CODES:
        raise ValueError(f"{value!r} is not a 2024 attendance code")
    return value


AttendanceCodeStr = Annotated[str, AfterValidator(_known_code)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(Payload):
    name: str
    relationship: str | None = None
    email: str | None = None
    phone: str | None = None
    preferred_channel: Literal["email", "sms", "push", "post"] | None = None


class SocialWorker(Payload):
    name: str
    email: str | None = None
    phone: str | None = None


class SchoolUpsertedV1(Payload):
    urn: URN
    la_code: LACode
    establishment_number: str | None = None
    name: str


class PupilAdmittedV1(Payload):
    school_urn: URN
    la_code: LACode
    upn: UPN
    legal_surname: str
    legal_forename: str
    date_of_birth: date
    year_group: str
    admission_date: date
    contacts: tuple[Contact, ...] = ()
    social_worker: SocialWorker | None = None


class PupilUpdatedV1(PupilAdmittedV1):
    pass


class SessionMarkedV1(Payload):
    """One session's mark, as first recorded (revision 1) or as replaced by a later revision."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    date: date
    session: Session
    code: AttendanceCodeStr
    previous_code: AttendanceCodeStr | None = None
    revision: int = Field(ge=1)
    recorded_at: datetime
    reason: str | None = None


class MarkAmendedV1(SessionMarkedV1):
    reason: str


RiskFlagType = Literal["persistent_absence", "severe_absence"]


class RiskFlagChangedV1(Payload):
    """A flag raised or cleared, with the figures that decided it."""

    school_urn: URN
    la_code: LACode
    upn: UPN
    flag: RiskFlagType
    academic_year: int
    possible_sessions: int
    absent_sessions: int
    overall_absence_rate: float | None
    as_of: date


class RiskFlagRaisedV1(RiskFlagChangedV1):
    pass


class RiskFlagClearedV1(RiskFlagChangedV1):
    pass


EVENT_TYPES: dict[str, type[Payload]] = {
    "uk.attendance.school.upserted.v1": SchoolUpsertedV1,
    "uk.attendance.pupil.admitted.v1": PupilAdmittedV1,
    "uk.attendance.pupil.updated.v1": PupilUpdatedV1,
    "uk.attendance.session.marked.v1": SessionMarkedV1,
    "uk.attendance.mark.amended.v1": MarkAmendedV1,
    "uk.attendance.risk-flag.raised.v1": RiskFlagRaisedV1,
    "uk.attendance.risk-flag.cleared.v1": RiskFlagClearedV1,
}
_TYPE_OF: dict[type[Payload], str] = {model: name for name, model in EVENT_TYPES.items()}


class Event(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    # Serialised as the concrete payload, not as the (empty) base class the field names.
    data: SerializeAsAny[Payload]

    @property
    def key(self) -> bytes:
        return self.subject.encode()

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))


class InvalidEvent(ValueError):
    """An event that cannot be applied: it goes to the dead-letter topic with this reason."""


def pupil_key(school_urn: str, upn: str) -> str:
    """All events of one pupil share a key, so they stay in order on one partition."""
    return f"{school_urn}:{upn}"


def make_event(payload: Payload, *, source: str, subject: str, time: datetime | None = None) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type=_TYPE_OF[type(payload)],
        source=source,
        subject=subject,
        time=time or datetime.now(UTC),
        data=payload,
    )


def parse_event(raw: bytes) -> Event:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidEvent("the envelope must be a JSON object")
    model = EVENT_TYPES.get(document.get("type"))  # type: ignore[arg-type]
    if model is None:
        raise InvalidEvent(f"unknown event type {document.get('type')!r}")
    try:
        payload = model.model_validate(document.get("data"))
        return Event.model_validate({**document, "data": payload})
    except ValidationError as exc:
        raise InvalidEvent(str(exc)) from None
