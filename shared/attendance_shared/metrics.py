"""Prometheus metrics shared by every service, labelled by service."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by a consumer", ["service", "topic"])
EVENTS_DUPLICATE = Counter("events_duplicate_total", "Redelivered events skipped by the inbox", ["service", "topic"])
INBOX_PRUNED = Counter(
    "inbox_pruned_total", "Inbox rows removed once their events could no longer be delivered again", ["service"]
)
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Events sent to the dead-letter topic", ["service", "topic"]
)
CONSUMER_LAG = Gauge("consumer_lag_messages", "High-water mark minus position", ["service", "topic", "partition"])
CONSUMER_OFFSET_RESETS = Counter(
    "consumer_offset_resets_total",
    "Partitions whose position was outside the log and was moved to its earliest offset",
    ["service", "topic", "reason"],
)
CONSUMER_BATCH_SECONDS = Histogram("consumer_batch_seconds", "Time to apply one polled batch", ["service"])
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published and acknowledged", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog_rows", "Outbox rows not yet published, as of the last relay poll", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Relay batches the broker did not accept", ["service"]
)
OUTBOX_SET_ASIDE = Counter(
    "outbox_set_aside_total", "Outbox rows over the event size limit, dequeued unsent (see the runbook)", ["service"]
)
NOTIFICATIONS = Counter(
    "notifications_total", "Messages by what became of them (queued, sent, undeliverable, failed)", ["outcome"]
)
RETURN_COMPILE_SECONDS = Histogram(
    "return_compile_seconds", "Time to compile one LA return", ["kind"], buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60)
)
HTTP_REQUEST_SECONDS = Histogram(
    "http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)
WORKER_RESTARTS = Counter(
    "worker_restarts_total", "Background workers (consumers, relays) restarted after failing", ["worker"]
)

# For the alerts and dashboard (deploy/k8s/base/prometheus-rules.yaml, grafana-dashboard.yaml):
# a consumer that stopped polling, events applied long after they happened, a relay that stopped
# publishing, and brokers no client can reach.
CONSUMER_LAST_POLL = Gauge(
    "consumer_last_poll_timestamp_seconds", "When the consumer last polled the brokers (Unix time)", ["service"]
)
CONSUMER_EVENT_AGE = Gauge(
    "consumer_event_age_seconds",
    "Freshness: how long ago the newest record of the last applied batch was published, as it was applied",
    ["service", "topic"],
)
OUTBOX_LAST_SUCCESS = Gauge(
    "outbox_relay_last_success_timestamp_seconds",
    "When the relay last read its queue and had the brokers acknowledge what it held (Unix time)",
    ["service"],
)
KAFKA_REACHABLE = Gauge(
    "kafka_broker_reachable", "1 when the client's last call to the brokers succeeded, else 0", ["service", "client"]
)
KAFKA_REFUSED = Gauge(
    "kafka_access_refused",
    "1 while the brokers refuse the client's credentials or ACLs (its /readyz says why), else 0",
    ["service", "client"],
)
