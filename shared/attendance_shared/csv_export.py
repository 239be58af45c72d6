"""Any list as CSV, for the spreadsheets attendance leads and LA officers live in.

A client asks with `Accept: text/csv`. Nested objects become dotted columns
(`figures.attendance_rate`), so a list reads the same in JSON and in a spreadsheet.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

CSV_MEDIA_TYPE = "text/csv"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {}}, "description": "JSON, or CSV with `Accept: text/csv`"}
}


# The Accept header of a route that answers JSON or CSV. Browsers send a few hundred
# characters at most; the bound keeps a hostile one from being scanned at length.
AcceptHeader = Annotated[str | None, Header(max_length=1000, description="`text/csv` for CSV")]


def wants_csv(accept: str | None) -> bool:
    return bool(accept) and CSV_MEDIA_TYPE in accept  # type: ignore[operator]


def flatten(item: BaseModel | Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    values = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            flat[f"{prefix}{key}"] = ";".join(str(v) for v in value)
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _lines(rows: Iterable[BaseModel | Mapping[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer: csv.DictWriter | None = None
    for row in rows:
        flat = flatten(row)
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(flat), extrasaction="ignore")
            writer.writeheader()
        writer.writerow(flat)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_response(rows: Iterable[BaseModel | Mapping[str, Any]], filename: str) -> StreamingResponse:
    return StreamingResponse(
        _lines(rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
