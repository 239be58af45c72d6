"""The pure rules of support casework: which flags suggest a case, and when; what an LA sees;
what a plan's dates must be and which of its actions are overdue."""

from datetime import date

import pytest

from attendance_shared.events import RISK_FLAG_TYPES
from attendance_shared.rules.support import (
    CASE_STAGES,
    SUGGESTING_FLAGS,
    PlannedAction,
    on_flag_raised,
    overdue_actions,
    plan_problems,
    visible_to_la,
)


def test_the_suggesting_flags_are_analytics_flags() -> None:
    assert set(RISK_FLAG_TYPES) >= SUGGESTING_FLAGS
    assert "part_time_review_overdue" not in SUGGESTING_FLAGS and "long_sickness" not in SUGGESTING_FLAGS


def test_a_first_flag_suggests_a_case() -> None:
    decision = on_flag_raised(
        "persistent_absence", case_open=False, pending_flags=None, flags_suggested_this_year=frozenset()
    )
    assert decision.action == "new"


def test_an_open_case_takes_every_flag() -> None:
    decision = on_flag_raised(
        "severe_absence", case_open=True, pending_flags=None, flags_suggested_this_year=frozenset()
    )
    assert decision.action == "ignore" and "open support case" in decision.why


def test_a_second_flag_joins_the_pending_suggestion_once() -> None:
    pending = frozenset({"persistent_absence"})
    added = on_flag_raised("severe_absence", case_open=False, pending_flags=pending, flags_suggested_this_year=pending)
    again = on_flag_raised(
        "persistent_absence", case_open=False, pending_flags=pending, flags_suggested_this_year=pending
    )
    assert (added.action, again.action) == ("add", "ignore")


def test_a_flag_already_put_to_staff_this_year_does_not_ask_again() -> None:
    asked = frozenset({"at_risk_of_persistent_absence"})
    repeated = on_flag_raised(
        "at_risk_of_persistent_absence", case_open=False, pending_flags=None, flags_suggested_this_year=asked
    )
    other = on_flag_raised("persistent_absence", case_open=False, pending_flags=None, flags_suggested_this_year=asked)
    assert (repeated.action, other.action) == ("ignore", "new")


@pytest.mark.parametrize("flag", ["long_sickness", "part_time_past_end", "continuous_absence_20_days"])
def test_flags_about_paperwork_or_returns_suggest_nothing(flag: str) -> None:
    assert on_flag_raised(flag, case_open=False, pending_flags=None, flags_suggested_this_year=frozenset()).action == (
        "ignore"
    )


@pytest.mark.parametrize(
    ("stage", "referred", "visible"),
    [
        ("monitor", False, False),
        ("listen_and_understand", False, False),
        ("facilitate_support", False, False),
        ("facilitate_support", True, True),
        ("formalise_support", False, True),
        ("enforce", False, True),
    ],
)
def test_an_la_sees_formal_and_enforcement_cases_and_those_referred(stage: str, referred: bool, visible: bool) -> None:
    assert stage in CASE_STAGES
    assert visible_to_la(stage, referred) is visible


def test_a_plans_actions_fall_due_after_it_starts_and_its_review_comes_later() -> None:
    start = date(2026, 11, 2)
    actions = [PlannedAction(date(2026, 11, 2), "open"), PlannedAction(date(2026, 10, 30), "open")]
    assert plan_problems(starts_on=start, review_on=date(2026, 12, 11), actions=actions) == [
        ("actions[1].due_on", "due 2026-10-30, before the plan starts on 2026-11-02")
    ]
    assert plan_problems(starts_on=start, review_on=start, actions=[], first_action_index=3) == [
        ("review_on", "the review (2026-11-02) must come after the plan starts (2026-11-02)")
    ]
    numbered = plan_problems(starts_on=start, review_on=date(2026, 12, 11), actions=actions[1:], first_action_index=4)
    assert [field for field, _ in numbered] == ["actions[4].due_on"]


def test_only_open_actions_past_their_due_date_are_overdue() -> None:
    today = date(2026, 11, 20)
    actions = [
        PlannedAction(date(2026, 11, 19), "open"),
        PlannedAction(date(2026, 11, 19), "done"),
        PlannedAction(date(2026, 11, 19), "dropped"),
        PlannedAction(today, "open"),
    ]
    assert overdue_actions(actions, today) == [0]
