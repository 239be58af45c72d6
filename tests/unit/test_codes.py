import pytest

from attendance_shared.rules.codes import ATTENDANCE_CODES, Category, UnknownAttendanceCode, category_of, lookup_code

# Categories as the 2024 regulations' tables and the DfE methodology give them.
EXPECTED = {
    Category.PRESENT: {"/", "\\", "L"},
    Category.APPROVED_EDUCATIONAL_ACTIVITY: {"K", "V", "P", "W", "B"},
    Category.AUTHORISED_ABSENCE: {"C1", "M", "J1", "S", "C2", "C", "E", "I", "R", "T"},
    Category.UNAUTHORISED_ABSENCE: {"G", "N", "O", "U"},
    Category.NOT_POSSIBLE: {"D", "X", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7", "Z", "#"},
}


@pytest.mark.parametrize("category", list(Category))
def test_each_code_has_the_category_the_regulations_give(category: Category) -> None:
    assert {c for c, v in ATTENDANCE_CODES.items() if v.category is category} == EXPECTED[category]


def test_the_table_holds_every_2024_code_and_nothing_else() -> None:
    assert set(ATTENDANCE_CODES) == set().union(*EXPECTED.values())


def test_attendance_counts_present_and_approved_activity_only() -> None:
    assert [c for c in Category if c.counts_as_attendance] == [
        Category.PRESENT,
        Category.APPROVED_EDUCATIONAL_ACTIVITY,
    ]
    assert not Category.NOT_POSSIBLE.is_possible_session
    assert all(c.is_possible_session for c in Category if c is not Category.NOT_POSSIBLE)


@pytest.mark.parametrize("retired", ["H", "J", "Y", "F"])
def test_retired_codes_are_refused_with_the_reason(retired: str) -> None:
    with pytest.raises(UnknownAttendanceCode, match="retired in August 2024"):
        lookup_code(retired)


def test_an_unknown_code_is_refused() -> None:
    with pytest.raises(UnknownAttendanceCode, match="not an attendance code"):
        category_of("Q9")


def test_notes_are_required_for_b_k_y7_and_closures() -> None:
    assert {c for c, v in ATTENDANCE_CODES.items() if v.note_required} >= {"B", "K", "Y7", "#"}
