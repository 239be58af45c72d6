"""Every value any API takes in has a bound, checked on each service's OpenAPI document: a
string a maximum length (or a closed shape), an integer or number both ends of its range, a
list a maximum number of items. An unbounded value is how a 7 MB address line, a cursor past
bigint and a moment before year 1 each became a 500."""

import re
from collections.abc import Iterator
from typing import Any

import pytest

from analytics_service.app import create_app as analytics_app
from attendance_shared import cursors
from attendance_shared.errors import Unprocessable
from la_returns_service.app import create_app as la_returns_app
from notification_service.app import create_app as notification_app
from register_service.app import create_app as register_app
from tests.factories import CURSORS_OUT_OF_RANGE

APPS = {
    "register": register_app,
    "analytics": analytics_app,
    "notification": notification_app,
    "la-returns": la_returns_app,
}
# Formats whose values have a fixed size.
CLOSED_FORMATS = {"date", "date-time", "time", "uuid", "binary"}
# A pattern bounds a string's length when it has no open-ended repetition.
OPEN_REPETITION = re.compile(r"(?<!\\)[*+]|\{\d*,\}")


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def unbounded(schema: dict[str, Any], document: dict[str, Any], where: str, seen: set[str]) -> Iterator[str]:
    """Where in `schema` a value has no bound."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen = seen | {name}
    schema = _resolve(schema, document)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from unbounded(option, document, where, seen)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        return
    if kind == "string":
        pattern = schema.get("pattern")
        closed = schema.get("format") in CLOSED_FORMATS or (pattern and not OPEN_REPETITION.search(pattern))
        if "maxLength" not in schema and not closed:
            yield f"{where}: a string with no maxLength"
    elif kind in ("integer", "number"):
        has_min = "minimum" in schema or "exclusiveMinimum" in schema
        has_max = "maximum" in schema or "exclusiveMaximum" in schema
        if not (has_min and has_max):
            yield f"{where}: a {kind} without both ends of its range"
    elif kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: a list with no maxItems"
        yield from unbounded(schema.get("items", {}), document, f"{where}[]", seen)
    elif kind == "object" or "properties" in schema:
        for name, property_schema in schema.get("properties", {}).items():
            yield from unbounded(property_schema, document, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from unbounded(extra, document, f"{where}.*", seen)


def inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                yield f"{method.upper()} {path} {parameter['in']} {parameter['name']}", parameter["schema"]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{method.upper()} {path} body ({media})", content["schema"]


@pytest.mark.parametrize("service", APPS)
def test_every_value_an_api_takes_has_a_bound(service: str) -> None:
    document = APPS[service]().openapi()
    problems = [p for where, schema in inputs(document) for p in unbounded(schema, document, where, set())]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "cursor",
    [
        *CURSORS_OUT_OF_RANGE,
        "+1.2",
        "１.２",  # full-width digits: int() reads them, PostgreSQL never gave them out
        "1.2\x00",
        "1.2.3",
        "",
    ],
)
def test_a_cursor_part_outside_bigint_or_not_plain_digits_is_refused_by_name(cursor: str) -> None:
    def parse(text: str) -> tuple[int, int]:
        first, second = text.split(".")
        return cursors.int64(first), cursors.int64(second)

    with pytest.raises(Unprocessable) as refused:
        cursors.decode_cursor(cursor, parse)
    assert refused.value.errors[0]["location"] == ["query", "cursor"]


def test_the_largest_cursor_parts_are_read() -> None:
    assert cursors.int64("9223372036854775807") == 2**63 - 1
    assert cursors.day("2026-11-02").isoformat() == "2026-11-02"
    for bad in ("1900-01-01", "9999-12-31"):
        with pytest.raises(ValueError):
            cursors.day(bad)
    for bad in ("0001-01-01T00:00:00+14:00", "2026-11-02T09:00:00"):
        with pytest.raises(ValueError):
            cursors.moment(bad)
