import pytest

from attendance_shared.rules.identifiers import InvalidUPN, validate_upn
from tests.factories import make_upn


def test_a_upn_with_the_right_check_letter_is_valid() -> None:
    upn = make_upn(serial=7)
    assert validate_upn(upn) == upn


def test_the_dfe_worked_example_is_valid() -> None:
    assert validate_upn("B801200005001") == "B801200005001"


def test_a_wrong_check_letter_is_named() -> None:
    upn = make_upn(serial=8)
    wrong = ("A" if upn[0] != "A" else "B") + upn[1:]
    with pytest.raises(InvalidUPN, match="check letter"):
        validate_upn(wrong)


@pytest.mark.parametrize(("value", "reason"), [("B80120000500", "13 characters"), ("E000200005001", "LA number")])
def test_malformed_upns_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidUPN, match=reason):
        validate_upn(value)
