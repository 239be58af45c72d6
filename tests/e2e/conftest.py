"""The whole stack, started as `make run` starts it, one per test module."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from attendance_stack import LocalStack, StackConfig
from attendance_stack.processes import free_port

SERVICES = ("register", "analytics", "notification", "la-returns")


def start_stack(data_dir: Path, extra_env: dict[str, str] | None = None) -> LocalStack:
    config = StackConfig(
        data_dir=data_dir,
        postgres_port=free_port(),
        broker_port=free_port(),
        service_ports={s: free_port() for s in SERVICES},
        durable=False,
        extra_env=extra_env or {},
    )
    stack = LocalStack(config, say=lambda message: print(f"[stack] {message}"))
    started = time.monotonic()
    stack.start()
    print(f"[stack] ready in {time.monotonic() - started:.1f}s")
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield stack
    finally:
        stack.stop()
