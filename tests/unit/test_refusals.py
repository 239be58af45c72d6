"""How a refusal names what was wrong: every field, or every row of a bulk request."""

from attendance_shared.errors import Unprocessable


def test_a_refusal_names_every_field_and_leads_with_the_first() -> None:
    refused = Unprocessable.of_fields([("upn", "bad check letter"), ("admission_date", "in the future")])
    assert refused.status == 422
    assert refused.detail == "bad check letter"
    assert refused.errors == [
        {"field": "upn", "message": "bad check letter"},
        {"field": "admission_date", "message": "in the future"},
    ]
    assert Unprocessable.of_fields([("am", "closes too late")], detail="the times are wrong").detail == (
        "the times are wrong"
    )


def test_a_bulk_refusal_counts_rows_not_errors() -> None:
    errors = [
        {"index": 2, "field": "upn", "message": "bad check letter"},
        {"index": 2, "field": "admission_date", "message": "in the future"},
        {"index": 7, "field": "upn", "message": "the same pupil as row 0"},
    ]
    refused = Unprocessable.of_rows(errors, total=10, what="admissions are refused")
    assert refused.detail == "2 of 10 admissions are refused; nothing was stored"
    assert refused.errors == errors
