"""Every Kafka topic, with the settings it is created with: the one place `make run`, the
tests (`ensure_topics`) and the Strimzi KafkaTopic manifests (checked by a test) read them from.

Auto-creation is off everywhere: a client's metadata request must never make a topic with the
broker's defaults.

What a topic keeps, and why (the README's "Event stream" section says more):
- The register's topics (schools, pupils, marks) carry events between services for 14 days:
  long enough for a consumer to come back from a half-term's outage, short enough that names,
  addresses and phone numbers do not linger on the brokers. They are not the record: the
  register's outbox keeps each event for the 6 years its entry is kept, and
  `analytics_service.rebuild` replays it from there, not from the topics.
- Risk flags, notification outcomes and support cases: 14 days too; the flags, messages and
  cases in their owners' databases are the record.
- Dead letters: 30 days, time to find the cause, fix it and replay.
"""

from collections.abc import Iterable
from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    # Production's settings: three copies, and a write is acknowledged once two have it, so
    # the loss of any one broker loses nothing and refuses nothing. A smaller cluster (the
    # local stack's single broker) gets as many copies as it has brokers.
    replicas: int = 3
    min_insync_replicas: int = 2
    retention_ms: int = 14 * DAY_MS
    cleanup_policy: str = "delete"

    def config(self, replicas: int) -> dict[str, str]:
        """The topic-level configuration for a topic with `replicas` copies."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "min.insync.replicas": str(min(self.min_insync_replicas, replicas)),
        }


SCHOOLS = TopicSpec("attendance.schools.v1", 3)
PUPILS = TopicSpec("attendance.pupils.v1", 6)
MARKS = TopicSpec("attendance.marks.v1", 6)
RISK_FLAGS = TopicSpec("analytics.risk-flags.v1", 6)
NOTIFICATION_OUTCOMES = TopicSpec("notifications.outcomes.v1", 3)
SUPPORT_CASES = TopicSpec("support.cases.v1", 3)


# Kafka deletes a whole segment once its newest record is past retention, and rolls a segment
# after `log.roll.hours` (the broker's default, 7 days, which the topics keep): a record can
# outlive its retention by that much.
SEGMENT_ROLL_MS = 7 * DAY_MS


def redelivery_horizon_ms(specs: Iterable[TopicSpec]) -> int:
    """How long after a consumer applied an event the event can still be delivered again:
    it was published before it was applied, so it is gone from its topic by then. A day is
    added for clocks and a slow deletion."""
    return max(spec.retention_ms for spec in specs) + SEGMENT_ROLL_MS + DAY_MS


def dead_letter_topic(service: str) -> TopicSpec:
    """Each consuming service has its own dead-letter topic, so a bad event is parked once per reader."""
    return TopicSpec(f"{service}.dead-letter.v1", 1, retention_ms=30 * DAY_MS)


CONSUMING_SERVICES = ("analytics", "notification", "la-returns", "support")

ALL_TOPICS: tuple[TopicSpec, ...] = (
    SCHOOLS,
    PUPILS,
    MARKS,
    RISK_FLAGS,
    NOTIFICATION_OUTCOMES,
    SUPPORT_CASES,
    *(dead_letter_topic(s) for s in CONSUMING_SERVICES),
)
