"""The whole stack, started as `make run` starts it, one per test module, with the broker
secured as production's is: TLS, SCRAM-SHA-512, each service its own principal with only the
ACLs of `attendance_shared.acl`. The tests reach the broker as its admin (`stack.kafka`)."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from attendance_stack import LocalStack, StackConfig


def start_stack(
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    kafka_config: dict[str, str] | None = None,
    *,
    secured: bool = True,
) -> LocalStack:
    config = StackConfig.on_free_ports(
        data_dir, durable=False, extra_env=extra_env or {}, kafka_config=kafka_config or {}, secured=secured
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
