"""Compiling returns, and reading them back as JSON or streamed CSV."""

import base64
import csv
import io
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.metrics import RETURN_COMPILE_SECONDS
from la_returns_service.clients.analytics import AnalyticsClient
from la_returns_service.domain.attendance_return import ATTENDANCE_COLUMNS, attendance_row, checksum
from la_returns_service.repository import store
from la_returns_service.schemas import ReturnPage, ReturnRequest, ReturnSummary


def check_period(start: date, end: date, today: date) -> None:
    if end < start:
        raise Unprocessable("the period ends before it starts", errors=[{"field": "to", "message": "before `from`"}])
    if end > today:
        raise Unprocessable("the period lies in the future", errors=[{"field": "to", "message": "after today"}])


def summary_of(row: Row) -> ReturnSummary:
    return ReturnSummary(
        id=row.id,
        la_code=row.la_code,
        kind=row.kind,
        start=row.period_start,
        end=row.period_end,
        generated_at=row.generated_at,
        row_count=row.row_count,
        checksum=row.checksum,
        columns=list(row.columns),
    )


async def compile_return(
    session: AsyncSession, analytics: AnalyticsClient, *, la_code: str, request: ReturnRequest, today: date
) -> ReturnSummary:
    check_period(request.start, request.end, today)
    started = time.perf_counter()
    schools = await store.schools_of_la(session, la_code)
    if not schools:
        raise NotFound(f"no schools known for local authority {la_code}")
    rows = []
    for school in schools:
        pupils = await store.pupils_of_school(session, school.urn)
        async for item in analytics.pupil_figures(school.urn, request.start, request.end):
            pupil = pupils.get(item["upn"])
            rows.append(
                attendance_row(school._asdict(), pupil._asdict() if pupil else None, item["figures"], item["upn"])
            )
    header = {
        "id": uuid.uuid4(),
        "la_code": la_code,
        "kind": request.kind,
        "period_start": request.start,
        "period_end": request.end,
        "generated_at": datetime.now(UTC),
        "row_count": len(rows),
        "checksum": checksum(rows),
        "columns": list(ATTENDANCE_COLUMNS),
    }
    await store.add_return(session, header, rows)
    RETURN_COMPILE_SECONDS.labels(request.kind).observe(time.perf_counter() - started)
    return ReturnSummary(
        id=header["id"],
        la_code=la_code,
        kind=request.kind,
        start=request.start,
        end=request.end,
        generated_at=header["generated_at"],
        row_count=len(rows),
        checksum=header["checksum"],
        columns=list(ATTENDANCE_COLUMNS),
    )


def _encode_cursor(row: ReturnSummary) -> str:
    return base64.urlsafe_b64encode(f"{row.generated_at.isoformat()}|{row.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        generated_at, return_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(generated_at), uuid.UUID(return_id)
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable(
            "the cursor is malformed",
            errors=[
                {"location": ["query", "cursor"], "message": "not a cursor this API gave out", "type": "value_error"}
            ],
        ) from None


async def list_returns(
    session: AsyncSession, la_code: str, *, kind: str | None, cursor: str | None, limit: int
) -> ReturnPage:
    after = _decode_cursor(cursor) if cursor else None
    rows = await store.page_returns(session, la_code, kind=kind, after=after, limit=limit + 1)
    items = [summary_of(r) for r in rows[:limit]]
    return ReturnPage(items=items, next_cursor=_encode_cursor(items[-1]) if len(rows) > limit else None)


async def get_summary(session: AsyncSession, la_code: str, return_id: uuid.UUID) -> ReturnSummary:
    row = await store.get_return(session, la_code, return_id)
    if row is None:
        raise NotFound(f"return {return_id} not found")
    return summary_of(row)


async def rows_of(session: AsyncSession, return_id: uuid.UUID) -> list[dict]:
    return [row async for row in store.stream_rows(session, return_id)]


async def stream_csv(sessionmaker: async_sessionmaker[AsyncSession], summary: ReturnSummary) -> AsyncIterator[str]:
    """CSV a chunk at a time, from its own session, so memory stays flat whatever the size."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=summary.columns, extrasaction="ignore")
    writer.writeheader()
    async with sessionmaker() as session:
        count = 0
        async for row in store.stream_rows(session, summary.id):
            writer.writerow(row)
            count += 1
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
