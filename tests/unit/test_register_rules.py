from datetime import date

from register_service.domain.register_rules import MarkRow, check_register_date, check_register_rows
from tests.factories import make_upn

A, B = make_upn(serial=101), make_upn(serial=102)


def test_a_valid_register_has_no_errors() -> None:
    assert check_register_rows([MarkRow(A, "/"), MarkRow(B, "N")], on_roll={A, B}) == []


def test_every_bad_row_is_named_with_its_index_and_reason() -> None:
    rows = [MarkRow(A, "/"), MarkRow(A, "L"), MarkRow("X123", "/"), MarkRow(B, "H"), MarkRow(make_upn(serial=103), "I")]
    errors = {(e.index, e.field): e.message for e in check_register_rows(rows, on_roll={A, B})}
    assert "already marked at row 0" in errors[(1, "upn")]
    assert "13 characters" in errors[(2, "upn")]
    assert "retired" in errors[(3, "code")]
    assert "not on this school's roll" in errors[(4, "upn")]
    assert (0, "upn") not in errors


def test_a_register_cannot_be_taken_for_a_future_date() -> None:
    assert check_register_date(date(2026, 9, 8), today=date(2026, 9, 7)) is not None
    assert check_register_date(date(2026, 9, 7), today=date(2026, 9, 7)) is None
