"""The fault suite's parts: a three-broker Apache Kafka cluster on loopback and the whole stack
on it, started once for the module, and the table of what each fault cost."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from attendance_stack import LocalStack, StackConfig
from attendance_stack.kafka import KafkaCluster


@dataclass
class FaultRow:
    fault: str
    marks_accepted: int
    lost: int
    counted_twice: int
    messages_twice: int
    catch_up_s: float | None
    # Answers of 500 and the like while the fault lasted (503 is the right answer, and retried).
    server_errors: int = 0


FAULT_TABLE: list[FaultRow] = []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(
        tmp_path_factory.mktemp("cluster"),
        size=3,
        heap_mb=384,
        # A frozen or killed broker is fenced by the controllers after 6 s instead of 9.
        extra_config={"broker.session.timeout.ms": "6000", "broker.heartbeat.interval.ms": "1000"},
    )
    started = time.monotonic()
    cluster.start()
    print(f"[fault] three brokers ready in {time.monotonic() - started:.1f}s")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def stack(cluster: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    config = StackConfig.on_free_ports(data_dir, durable=False, kafka_bootstrap_servers=cluster.bootstrap_servers)
    stack = LocalStack(config, say=lambda message: print(f"[stack] {message}"))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FAULT_TABLE:
        return
    header = ("fault", "marks accepted", "lost", "counted twice", "messages twice", "catch-up s", "5xx not 503")
    rows = [
        (
            r.fault,
            f"{r.marks_accepted:,}",
            str(r.lost),
            str(r.counted_twice),
            str(r.messages_twice),
            "-" if r.catch_up_s is None else f"{r.catch_up_s:.1f}",
            str(r.server_errors),
        )
        for r in FAULT_TABLE
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    terminalreporter.section("faults: every accepted mark in analytics and notification, every admission in la-returns")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        terminalreporter.write_line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
