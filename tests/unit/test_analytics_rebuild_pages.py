"""How the analytics rebuild reads a page of register-service's log, without a database: the
marks folded into each pupil's year, the rest kept in order, and a page holding a removal
left whole for the events to be applied one by one."""

from datetime import date

from analytics_service.domain.encoding import BYTE_OF_CODE, slot_of
from analytics_service.rebuild import HeldYears
from attendance_shared.events import PupilRecordsRemovedV1, RegisterMarkedV1, make_event, parse_event
from attendance_shared.outbox import log_page_json, log_page_next_after
from tests.factories import SAMPLE_MARK, SAMPLE_PUPIL, SAMPLE_UPN


class Row:
    def __init__(self, position: int, topic: str, envelope: bytes) -> None:
        self.id, self.topic, self.envelope = position, topic, envelope


def page(*payloads, limit: int = 100) -> bytes:
    rows = [
        Row(i + 1, "attendance.marks.v1", make_event(p, source="/services/register", subject="s").to_bytes())
        for i, p in enumerate(payloads)
    ]
    return log_page_json(rows, limit=limit)


AMENDED = SAMPLE_MARK.model_copy(update={"code": "I", "revision": 2})
REMOVED = PupilRecordsRemovedV1(
    school_urn="100001", la_code="201", upn=SAMPLE_UPN, last_entry_on=date(2020, 7, 1), removed_on=date(2026, 7, 2)
)


def test_the_next_page_is_read_from_a_page_without_parsing_it() -> None:
    assert log_page_next_after(page(SAMPLE_MARK, AMENDED, limit=2)) == 2
    assert log_page_next_after(page(SAMPLE_MARK, AMENDED, limit=3)) is None


def test_marks_are_folded_and_the_other_events_kept_in_order() -> None:
    held = HeldYears(None, None, most=10)  # type: ignore[arg-type]
    others, count, invalid = held.read_page(page(SAMPLE_MARK, SAMPLE_PUPIL, AMENDED))
    assert (count, invalid) == (3, 0)
    assert [type(event.data) for _, event in others] == [type(SAMPLE_PUPIL)]
    year = held.years[("100001", SAMPLE_UPN, 2026)]
    slot = slot_of(SAMPLE_MARK.date, "am")
    assert year.codes[slot] == BYTE_OF_CODE["I"] and year.amended == {slot: 2} and year.la_code == "201"


def test_a_page_holding_a_removal_is_left_whole_and_in_order() -> None:
    held = HeldYears(None, None, most=10)  # type: ignore[arg-type]
    events, count, _ = held.read_page(page(SAMPLE_MARK, REMOVED, AMENDED))
    assert count == 3 and held.years == {}
    kinds = [type(e) if isinstance(e, dict) else type(e.data) for _, e in events]
    assert kinds == [dict, PupilRecordsRemovedV1, dict]


REGISTER = RegisterMarkedV1(
    school_urn="100001",
    la_code="201",
    date=SAMPLE_MARK.date,
    session="pm",
    recorded_at=SAMPLE_MARK.recorded_at,
    marks=((SAMPLE_UPN, "N", 1, None, None, None), ("A12345678901B", "L", 3, "/", 10, "late bus")),
)


def test_a_registers_rows_are_folded_as_its_marks_would_be() -> None:
    held = HeldYears(None, None, most=10)  # type: ignore[arg-type]
    others, count, invalid = held.read_page(page(SAMPLE_MARK, REGISTER))
    assert (others, count, invalid) == ([], 2, 0)
    year = held.years[("100001", SAMPLE_UPN, 2026)]
    am, pm = slot_of(SAMPLE_MARK.date, "am"), slot_of(SAMPLE_MARK.date, "pm")
    assert (year.codes[am], year.codes[pm]) == (BYTE_OF_CODE[SAMPLE_MARK.code], BYTE_OF_CODE["N"])
    late = held.years[("100001", "A12345678901B", 2026)]
    assert late.codes[pm] == BYTE_OF_CODE["L"] and late.amended == {pm: 3} and late.la_code == "201"


def test_a_register_read_as_a_model_is_folded_as_its_dict_is() -> None:
    """A page holding an invalid event is read again event by event, as models: a register
    among them folds to the same years as from the page's dicts."""
    from_dicts = HeldYears(None, None, most=10)  # type: ignore[arg-type]
    from_dicts.read_page(page(REGISTER))
    from_model = HeldYears(None, None, most=10)  # type: ignore[arg-type]
    from_model.apply(parse_event(make_event(REGISTER, source="/services/register", subject="100001").to_bytes()))
    assert from_model.years.keys() == from_dicts.years.keys()
    for key, year in from_dicts.years.items():
        assert (from_model.years[key].codes, from_model.years[key].amended) == (year.codes, year.amended)
