"""How long an event can still be delivered, which decides when a consumer may forget it."""

from attendance_shared import topics

DAY_MS = 24 * 3600 * 1000


def test_an_event_cannot_come_again_after_the_longest_retention_a_segment_and_a_day() -> None:
    assert topics.redelivery_horizon_ms([topics.SCHOOLS, topics.PUPILS]) == (14 + 7 + 1) * DAY_MS
    # A service reading a topic kept longer waits for that one.
    assert topics.redelivery_horizon_ms([topics.MARKS, topics.dead_letter_topic("support")]) == (30 + 7 + 1) * DAY_MS
