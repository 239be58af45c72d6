import asyncio
import contextlib
from datetime import UTC, date, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from attendance_shared.bounds import (
    ADDRESS_LINE_MAX,
    EMAIL_MAX,
    LABEL_MAX,
    PERSON_NAME_MAX,
    PHONE_MAX,
    POSTCODE_MAX,
    TOWN_MAX,
)
from attendance_shared.consumer import MAX_DEAD_LETTER_VALUE_BYTES, dead_letter_record
from attendance_shared.events import (
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    EventTooLarge,
    InvalidEvent,
    MarkAmendedV1,
    NotificationOutcomeV1,
    PupilAdmittedV1,
    RegisterMarkedV1,
    SessionMarkedV1,
    make_event,
    parse_event,
    plain_envelope,
    pupil_key,
    session_marks,
)
from attendance_shared.outbox import add_envelopes_to_outbox
from tests.factories import SAMPLE_FLAG, SAMPLE_MARK, SAMPLE_PUPIL, SAMPLE_SCHOOL, SAMPLE_UPN

UPN = SAMPLE_UPN
MARK = SAMPLE_MARK
REGISTER = RegisterMarkedV1(
    school_urn=MARK.school_urn,
    la_code=MARK.la_code,
    date=MARK.date,
    session=MARK.session,
    recorded_at=MARK.recorded_at,
    marks=((MARK.upn, MARK.code, 1, None, None, None), ("A12345678901B", "L", 2, "/", 12, "the bus was late")),
)
PAYLOADS = [
    SAMPLE_SCHOOL,
    SAMPLE_PUPIL,
    MARK,
    REGISTER,
    MarkAmendedV1(**{**MARK.model_dump(), "code": "I", "previous_code": "N", "revision": 2, "reason": "GP letter"}),
    SAMPLE_FLAG,
    NotificationOutcomeV1(
        message_id=7,
        school_urn="100001",
        upn=UPN,
        rule="first-day-absence",
        about_date=date(2026, 9, 7),
        session="am",
        recipient_role="parent",
        contact_index=0,
        channel="email",
        outcome="failed",
        reason="SMTP 550: mailbox unavailable",
        provider="smtp",
        attempts=1,
        occurred_at=datetime(2026, 9, 7, 9, 1, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: type(p).__name__)
def test_every_payload_survives_the_envelope_round_trip(payload) -> None:
    event = make_event(payload, source="/tests", subject="100001")
    parsed = parse_event(event.to_bytes())
    assert parsed == event
    assert type(parsed.data) is type(payload)


def test_the_envelope_uses_cloudevents_attribute_names() -> None:
    document = orjson.loads(make_event(MARK, source="/services/register", subject=pupil_key("100001", UPN)).to_bytes())
    assert set(document) == {"specversion", "id", "type", "source", "subject", "time", "datacontenttype", "data"}
    assert document["specversion"] == "1.0"
    assert document["type"] in EVENT_TYPES
    assert document["subject"] == f"100001:{UPN}"
    assert document["data"]["code"] == "N"


def _envelope(**changes) -> bytes:
    document = orjson.loads(make_event(MARK, source="/tests", subject="s").to_bytes())
    for key, value in changes.items():
        if key.startswith("data_"):
            document["data"][key.removeprefix("data_")] = value
        else:
            document[key] = value
    return orjson.dumps(document)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (_envelope(type="uk.attendance.unknown.v1"), "unknown event type"),
        (_envelope(data_code="H"), "not a 2024 attendance code"),
        (_envelope(data_session="evening"), "session"),
        (_envelope(data_revision=0), "revision"),
        (_envelope(data_school_urn="12"), "school_urn"),
        (_envelope(data_surprise=1), "surprise"),
        (_envelope(id=None), r"\nid\n"),  # the field name on a line of its own, not "id" in "validation"
        # Valid JSON of the right shape, but impossible: the day, the size, the counter.
        (_envelope(data_date="1900-01-01"), "date"),
        (_envelope(data_date="9999-12-31"), "date"),
        (_envelope(data_recorded_at="0001-01-01T00:00:00+14:00"), "recorded_at"),
        (_envelope(data_reason="x" * (2 * 1024 * 1024)), "reason"),
        (_envelope(data_revision=10**12), "revision"),
        (_envelope(data_minutes_late=10**9), "minutes_late"),
        (_envelope(data_upn="\u0000" * 13), "upn"),
        (_envelope(subject="s" * 100_000), "subject"),
        (_envelope(time="1900-01-01T00:00:00Z"), "time"),
    ],
)
def test_payloads_that_do_not_validate_are_refused_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(raw)


def test_an_envelope_written_from_values_parses_as_the_model_would_write_it() -> None:
    from datetime import UTC, date, datetime

    from attendance_shared.events import envelope_bytes, make_event, new_event_ids, parse_event

    data = {
        "school_urn": "100001",
        "la_code": "201",
        "upn": "A201123424001",
        "date": date(2026, 9, 7),
        "session": "am",
        "code": "L",
        "previous_code": None,
        "revision": 1,
        "recorded_at": datetime(2026, 9, 7, 8, 55, tzinfo=UTC),
        "reason": None,
        "minutes_late": 12,
    }
    assert set(data) == set(SessionMarkedV1.model_fields)
    when = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
    fast = parse_event(envelope_bytes(SessionMarkedV1, data, event_id="e-1", source="/s", subject="k", time=when))
    model = make_event(SessionMarkedV1(**data), source="/s", subject="k", time=when)
    assert fast == parse_event(model.to_bytes()).model_copy(update={"id": "e-1"})
    ids = new_event_ids(3)
    assert len(set(ids)) == 3 and all(len(i) == 36 and i[14] == "4" for i in ids)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
ENVELOPE_KEYS = ["specversion", "id", "type", "source", "subject", "time", "datacontenttype", "data"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_parse_to_an_event_or_an_invalid_event(raw: bytes) -> None:
    with contextlib.suppress(InvalidEvent):
        parse_event(raw)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_parses_to_an_event_or_an_invalid_event(document: object) -> None:
    with contextlib.suppress(InvalidEvent):
        parse_event(orjson.dumps(document))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(ENVELOPE_KEYS), JSON), st.sampled_from([None, *EVENT_TYPES]))
def test_any_envelope_shape_parses_to_an_event_or_an_invalid_event(envelope: dict, event_type: str | None) -> None:
    """Envelopes with every field of any JSON type, with and without a real event type."""
    if event_type is not None:
        envelope["type"] = event_type
    with contextlib.suppress(InvalidEvent):
        parse_event(orjson.dumps(envelope))


@pytest.mark.parametrize("raw", [None, b"", b'{"type": [1]}', b'{"type": {"a": 1}}', b'{"type": null}'])
def test_records_the_first_parser_stopped_on_are_invalid_events(raw: bytes | None) -> None:
    with pytest.raises(InvalidEvent):
        parse_event(raw)


def test_no_write_puts_an_event_in_the_outbox_that_the_broker_would_refuse() -> None:
    huge = (pupil_key("100001", UPN), "e-1", "uk.attendance.pupil.admitted.v1", b"x" * (MAX_EVENT_BYTES + 1))
    with pytest.raises(EventTooLarge, match="at most"):
        # Refused before the database is touched: no session is needed to show it.
        asyncio.run(add_envelopes_to_outbox(None, None, "attendance.pupils.v1", [huge]))  # type: ignore[arg-type]


def test_the_largest_pupil_the_api_takes_is_far_under_the_event_limit() -> None:
    longest = {
        "school_urn": "100001",
        "la_code": "201",
        "upn": UPN,
        "legal_surname": "s" * PERSON_NAME_MAX,
        "legal_forename": "f" * PERSON_NAME_MAX,
        "preferred_surname": "s" * PERSON_NAME_MAX,
        "preferred_forename": "f" * PERSON_NAME_MAX,
        "date_of_birth": date(2016, 3, 4),
        "year_group": "5",
        "admission_date": date(2025, 9, 1),
        "address": {"lines": ["l" * ADDRESS_LINE_MAX] * 5, "town": "t" * TOWN_MAX, "postcode": "p" * POSTCODE_MAX},
        "contacts": [
            {
                "name": "n" * PERSON_NAME_MAX,
                "relationship": "r" * LABEL_MAX,
                "email": "e" * EMAIL_MAX,
                "phone": "9" * PHONE_MAX,
                "preferred_channel": "email",
            }
        ]
        * 10,
        "social_worker": {"name": "n" * PERSON_NAME_MAX, "email": "e" * EMAIL_MAX, "phone": "9" * PHONE_MAX},
    }
    size = len(make_event(PupilAdmittedV1(**longest), source="/tests", subject="s").to_bytes())
    assert size < MAX_EVENT_BYTES / 10


def test_a_dead_letter_keeps_at_most_half_a_mebibyte_of_the_record_and_says_how_big_it_was() -> None:
    topic, key, value, headers = dead_letter_record(
        "analytics.dead-letter.v1", "attendance.marks.v1", b"k", b"v" * 2_000_000, "\udfff" * 5000
    )
    assert (topic, key, len(value)) == ("analytics.dead-letter.v1", b"k", MAX_DEAD_LETTER_VALUE_BYTES)
    named = dict(headers)
    assert named["original_size"] == b"2000000" and named["original_topic"] == b"attendance.marks.v1"
    assert len(named["dead_letter_reason"]) <= 4000


def test_a_registers_rows_read_as_the_single_marks_of_the_same_values() -> None:
    """Every reader takes a register's row for the `SessionMarkedV1` it stands for: each field,
    and the row a projection of marks stores."""
    late = SessionMarkedV1(
        **{
            **MARK.model_dump(),
            **{"upn": "A12345678901B", "code": "L", "revision": 2, "previous_code": "/"},
            **{"minutes_late": 12, "reason": "the bus was late"},
        }
    )
    read = session_marks([REGISTER, MARK])
    assert [m._asdict() for m in read[:2]] == [MARK.model_dump(), late.model_dump()]
    assert read[2] is MARK
    assert [m.stored_row() for m in read[:2]] == [MARK.stored_row(), late.stored_row()]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["M201123424001", "ZZ", 1, None, None, None], "not a 2024 attendance code"),
        (["M201123424001", "L", 1, None, 0, None], "greater than or equal to 1"),
        (["M201123424001", "/", 0, None, None, None], "greater than or equal to 1"),
        (["M201123424001", "/", 1, None, None], "Field required"),
        (["M201123424001", "/", 1, None, None, None, "x"], "at most 6 items"),
        (["not a upn!", "/", 1, None, None, None], "should match pattern"),
    ],
)
def test_a_register_with_one_bad_row_is_refused_whole_naming_the_row(row: list, reason: str) -> None:
    envelope = orjson.loads(make_event(REGISTER, source="/services/register", subject="100001").to_bytes())
    envelope["data"]["marks"].append(row)
    with pytest.raises(InvalidEvent, match=reason) as refused:
        parse_event(orjson.dumps(envelope))
    assert "data.marks.2" in str(refused.value)


MARK_TYPES = [name for name, payload in EVENT_TYPES.items() if issubclass(payload, SessionMarkedV1)]
PLAIN = {name: TypeAdapter(plain_envelope(name)) for name in MARK_TYPES}
MARK_FIELDS = [*SessionMarkedV1.model_fields, "extra_field"]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(MARK_TYPES),
    st.dictionaries(st.sampled_from(MARK_FIELDS), st.one_of(st.just(None), JSON), max_size=3),
    st.lists(st.sampled_from(MARK_FIELDS), max_size=2),
    st.dictionaries(st.sampled_from(ENVELOPE_KEYS[:-2]), JSON, max_size=1),
)
def test_a_mark_read_as_a_plain_dict_is_accepted_and_refused_as_parse_event_does(
    event_type: str, replaced: dict, removed: list, envelope_replaced: dict
) -> None:
    """The rebuild reads marks as dicts (`plain_envelope`); the consumers read them as models.
    Whatever is changed, left out or added, the two agree, and on what a valid mark holds."""
    data = orjson.loads(MarkAmendedV1(**{**MARK.model_dump(), "revision": 2, "reason": "GP letter"}).model_dump_json())
    data.update(replaced)
    for name in removed:
        data.pop(name, None)
    envelope = orjson.loads(make_event(MARK, source="/services/register", subject="s").to_bytes())
    raw = orjson.dumps({**envelope, **envelope_replaced, "type": event_type, "data": data})
    try:
        model = parse_event(raw)
    except InvalidEvent:
        with pytest.raises(ValidationError):
            PLAIN[event_type].validate_json(raw)
        return
    plain = PLAIN[event_type].validate_json(raw)
    fields = model.data.model_dump()
    left_out = set(fields) - set(plain["data"])  # a plain dict has no defaults filled in
    assert all(not type(model.data).model_fields[name].is_required() for name in left_out)
    assert plain["data"] == {name: fields[name] for name in plain["data"]}
    assert plain["time"] == model.time and plain["id"] == model.id


REGISTER_TYPE = "uk.attendance.register.marked.v1"
PLAIN_REGISTER = TypeAdapter(plain_envelope(REGISTER_TYPE))
ROW_VALUES = st.one_of(st.just(None), JSON, st.sampled_from(["/", "N", "L", "M201123424001", 1, 2, 0, 61]))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*RegisterMarkedV1.model_fields, "extra_field"]), JSON, max_size=2),
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6), ROW_VALUES), max_size=2),
)
def test_a_register_read_as_a_plain_dict_is_accepted_and_refused_as_parse_event_does(
    replaced: dict, row_changes: list
) -> None:
    """The rebuild reads registers as dicts too: the two agree whatever a field or a row holds."""
    envelope = orjson.loads(make_event(REGISTER, source="/services/register", subject="100001").to_bytes())
    data = envelope["data"]
    for row, column, value in row_changes:
        cells = data["marks"][row]
        if column < len(cells):
            cells[column] = value
        else:
            cells.append(value)
    data.update(replaced)
    raw = orjson.dumps(envelope)
    try:
        model = parse_event(raw)
    except InvalidEvent:
        with pytest.raises(ValidationError):
            PLAIN_REGISTER.validate_json(raw)
        return
    plain = PLAIN_REGISTER.validate_json(raw)
    assert plain["data"] == model.data.model_dump()
