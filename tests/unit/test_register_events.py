"""How register-service cuts the marks of a write into register events, without a database."""

from datetime import UTC, date, datetime

import orjson

from attendance_shared.events import MAX_EVENT_BYTES, RegisterMarkedV1, envelope_bytes, parse_event
from register_service.service.events import REGISTER_EVENT_BUDGET, register_parts

AT = datetime(2026, 9, 7, 8, 52, tzinfo=UTC)


def mark(urn: str, serial: int, *, session: str = "am", reason: str | None = None) -> dict:
    return {
        "school_urn": urn,
        "la_code": "201",
        "upn": f"M2011234{serial:05d}",
        "date": date(2026, 9, 7),
        "session": session,
        "code": "/",
        "previous_code": None,
        "revision": 1,
        "recorded_at": AT,
        "reason": reason,
        "minutes_late": None,
    }


def test_a_bulk_write_is_one_part_for_each_register_in_the_order_given() -> None:
    marks = [mark("100001", 1), mark("100002", 2), mark("100001", 3), mark("100001", 4, session="pm")]
    parts = register_parts(marks)
    assert [[m["upn"][-1] for m in part] for part in parts] == [["1", "3"], ["2"], ["4"]]


def test_a_register_too_large_for_one_event_is_cut_into_events_that_each_fit() -> None:
    """Every row at its longest reason: no part may come near the broker's limit, and no row is
    lost or repeated."""
    reason = "\u0001" * 500  # a control character: six bytes each in JSON
    marks = [mark("100001", i, reason=reason) for i in range(400)]
    parts = register_parts(marks)
    assert len(parts) > 1
    assert [m["upn"] for part in parts for m in part] == [m["upn"] for m in marks]
    for part in parts:
        data = {
            **{k: part[0][k] for k in ("school_urn", "la_code", "date", "session", "recorded_at")},
            "marks": [(m["upn"], m["code"], m["revision"], None, None, m["reason"]) for m in part],
        }
        raw = envelope_bytes(
            RegisterMarkedV1, data, event_id="e", source="/services/register", subject="100001", time=AT
        )
        assert len(raw) <= REGISTER_EVENT_BUDGET + 4096 < MAX_EVENT_BYTES
        assert len(parse_event(raw).data.marks) == len(part)
        assert orjson.loads(raw)["data"]["marks"][0][5] == reason


def test_a_school_of_two_thousand_is_one_event() -> None:
    assert len(register_parts([mark("100001", i) for i in range(2000)])) == 1
