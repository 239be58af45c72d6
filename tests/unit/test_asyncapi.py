"""The integrators' contract: docs/asyncapi.json is what the event models make, the AsyncAPI
Initiative's parser finds it valid, and every event is on one topic with an example that
parses (issue 27)."""

import os
import shutil
import subprocess

import pytest

from attendance_shared import contract, topics
from attendance_shared.events import ENVELOPE_OF, EVENT_TYPE_OF, EVENT_TYPES, parse_event
from tests.unit.test_k8s_manifests import ROOT

DOCUMENT = ROOT / "docs" / "asyncapi.json"
PARSER_DIR = ROOT / ".venv" / "opt" / "asyncapi"


def test_the_published_document_is_what_the_code_makes() -> None:
    assert DOCUMENT.read_text() == contract.render(), "docs/asyncapi.json is stale: run `make asyncapi`"


def test_every_event_is_on_one_topic_with_an_example_that_parses() -> None:
    on_topics = [model for events in contract.TOPIC_EVENTS.values() for model in events]
    assert sorted(m.__name__ for m in on_topics) == sorted(m.__name__ for m in EVENT_TYPES.values())
    assert len(on_topics) == len(set(on_topics))
    document = contract.asyncapi_document()
    for message in document["components"]["messages"].values():
        example = message["examples"][0]["payload"]
        envelope = ENVELOPE_OF[message["title"]].model_validate(example)
        assert parse_event(envelope.to_bytes()).data == envelope.data  # as a consumer reads it
    assert {c["address"] for c in document["channels"].values()} == set(contract.TOPIC_EVENTS)


def test_every_topic_has_one_publisher_its_readers_and_says_what_personal_data_it_carries() -> None:
    for topic in contract.TOPIC_EVENTS:
        publishers = [s for s, published in contract.PUBLISHES.items() if any(t.name == topic for t in published)]
        assert len(publishers) == 1, topic
        assert topic in contract.PERSONAL_DATA and topic in contract.KEYS
    assert topics.PUPILS in contract.CONSUMES["notification"] and topics.PUPILS not in contract.PUBLISHES["analytics"]
    assert set(contract.CONSUMES) == set(topics.CONSUMING_SERVICES)


def test_the_asyncapi_parser_finds_the_document_valid() -> None:
    node = shutil.which("node")
    if node is None or not (PARSER_DIR / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("`make install` installs @asyncapi/parser into .venv/opt/asyncapi (needs Node.js and npm)")
    checked = subprocess.run(
        [node, str(ROOT / "tools" / "validate-asyncapi.mjs"), str(DOCUMENT)],
        env={**os.environ, "ASYNCAPI_PARSER_DIR": str(PARSER_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    events = len(EVENT_TYPE_OF)
    assert "6 channels" in checked.stdout and f"{events} messages" in checked.stdout, checked.stdout
