"""Kafka topic names and partition counts. Topics are created explicitly before anything
produces: production Kafka runs with auto-creation off, and the local broker would create
an unknown topic with one partition."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int


SCHOOLS = TopicSpec("attendance.schools.v1", 3)
PUPILS = TopicSpec("attendance.pupils.v1", 6)
MARKS = TopicSpec("attendance.marks.v1", 6)
RISK_FLAGS = TopicSpec("analytics.risk-flags.v1", 6)
NOTIFICATION_OUTCOMES = TopicSpec("notifications.outcomes.v1", 3)


def dead_letter_topic(service: str) -> TopicSpec:
    """Each consuming service has its own dead-letter topic, so a bad event is parked once per reader."""
    return TopicSpec(f"{service}.dead-letter.v1", 1)


CONSUMING_SERVICES = ("analytics", "notification", "la-returns")

ALL_TOPICS: tuple[TopicSpec, ...] = (
    SCHOOLS,
    PUPILS,
    MARKS,
    RISK_FLAGS,
    NOTIFICATION_OUTCOMES,
    *(dead_letter_topic(s) for s in CONSUMING_SERVICES),
)
