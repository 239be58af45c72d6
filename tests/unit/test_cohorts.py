"""The DfE's cohort fields and its statistics population (issue 23). Pure rules."""

from datetime import date

import pytest
from pydantic import ValidationError

from attendance_shared.events import PupilAdmittedV1
from attendance_shared.rules.cohorts import ETHNICITIES, age_on, in_population, of_compulsory_school_age
from tests.factories import SAMPLE_PUPIL


def test_compulsory_school_age_is_5_to_15_on_the_31_august_before_the_year() -> None:
    assert age_on(date(2020, 9, 1), date(2025, 8, 31)) == 4  # youngest of the year: reception, not counted
    assert age_on(date(2020, 8, 31), date(2025, 8, 31)) == 5
    assert not of_compulsory_school_age(date(2020, 9, 1), 2025)
    assert of_compulsory_school_age(date(2020, 8, 31), 2025)
    assert of_compulsory_school_age(date(2009, 9, 1), 2025)  # year 11: 15 at the start of the year
    assert not of_compulsory_school_age(date(2009, 8, 31), 2025)  # 16: sixth form
    assert not of_compulsory_school_age(None, 2025)


def test_the_statistics_population_leaves_out_boarders_and_everyone_else_is_on_roll() -> None:
    ten = date(2015, 3, 1)
    assert in_population("compulsory_school_age", ten, False, 2025)
    assert not in_population("compulsory_school_age", ten, True, 2025)
    assert in_population("on_roll", date(2021, 3, 1), True, 2025)


def test_every_dfe_ethnicity_code_has_a_major_group_and_the_events_take_only_those() -> None:
    assert len(ETHNICITIES) == 20
    assert {e.group for e in ETHNICITIES.values()} == {
        "White",
        "Mixed",
        "Asian",
        "Black",
        "Chinese",
        "Any other ethnic group",
        "Unclassified",
    }
    data = SAMPLE_PUPIL.model_dump()
    assert PupilAdmittedV1.model_validate({**data, "ethnicity": "APKN"}).ethnicity == "APKN"
    with pytest.raises(ValidationError):
        PupilAdmittedV1.model_validate({**data, "ethnicity": "ASIAN"})
    # Events written before these fields existed still read: each has a default.
    assert PupilAdmittedV1.model_validate(data).child_in_need is False
