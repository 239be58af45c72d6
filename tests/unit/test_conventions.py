"""House rules that keep the transaction and the event stream honest, checked on the source.

- Only the unit of work commits: services and repositories flush, never commit, or the
  outbox row could be committed without its mark (or the other way round).
- Only the shared publisher sends to Kafka: everything else goes through the outbox.
- Schemas come from migrations, never from metadata.create_all.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for folder in ("shared", "services") for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts
)

# The places that own a transaction or a Kafka offset commit (the rebuild command moves the
# analytics consumer group past what it replayed).
MAY_COMMIT = {
    "shared/attendance_shared/outbox.py",
    "shared/attendance_shared/consumer.py",
    "services/analytics-service/analytics_service/rebuild.py",
}
MAY_SEND = {"shared/attendance_shared/kafka.py"}


def calls_to(path: Path, *names: str, receiver_contains: str = "") -> list[int]:
    """Lines calling `<receiver>.<name>(...)`, optionally only where the receiver's name contains a word."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
        and receiver_contains in ast.unparse(node.func.value).lower()
    ]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_source_tree_is_found() -> None:
    assert len(SOURCES) > 40


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_only_the_unit_of_work_commits(path: Path) -> None:
    if relative(path) not in MAY_COMMIT:
        assert calls_to(path, "commit") == [], "flush in services and repositories; the caller's scope commits"


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_only_the_shared_publisher_sends_to_kafka(path: Path) -> None:
    if relative(path) not in MAY_SEND:
        sends = calls_to(path, "send", "send_and_wait", "send_batch", receiver_contains="producer")
        assert sends == [], "publish through the outbox"


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_schemas_come_from_migrations(path: Path) -> None:
    assert calls_to(path, "create_all") == []
