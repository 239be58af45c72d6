"""A pupil removed from the register once the law no longer keeps any entry of theirs
(`PupilRecordsRemovedV1`, written by register-service's retention job): how each reader
removes what it keeps of them.

A batch is applied in the order it was delivered: the events before a removal, then the
removal, then any after it (a pupil admitted again under the same UPN starts afresh).
"""

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence

from sqlalchemy import ColumnElement, Table, delete, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.events import Event, PupilRecordsRemovedV1

log = logging.getLogger(__name__)

PupilKey = tuple[str, str]  # (school_urn, upn)


def removal_segments(
    events: Sequence[tuple[str, Event]],
) -> Iterator[tuple[list[tuple[str, Event]], list[PupilKey]]]:
    """The batch cut at its removals: each run of other events, with the pupils removed right
    after it. A batch without a removal is one segment, as it came."""
    run: list[tuple[str, Event]] = []
    removed: list[PupilKey] = []
    for topic, event in events:
        data = event.data
        if isinstance(data, PupilRecordsRemovedV1):
            removed.append((data.school_urn, data.upn))
            continue
        if removed:
            yield run, removed
            run, removed = [], []
        run.append((topic, event))
    if run or removed:
        yield run, removed


def of_pupils(table: Table, pupils: Sequence[PupilKey]) -> ColumnElement[bool]:
    """Rows of `table` (with `school_urn` and `upn` columns) that belong to these pupils."""
    return tuple_(table.c.school_urn, table.c.upn).in_(list(pupils))


async def remove_from(session: AsyncSession, tables: Sequence[Table], pupils: Sequence[PupilKey]) -> dict[str, int]:
    """Delete the pupils' rows from each table in turn (children first), counted by table."""
    removed = {}
    for table in tables:
        removed[table.name] = (await session.execute(delete(table).where(of_pupils(table, pupils)))).rowcount
    return removed


def log_removal(service: str, pupils: Sequence[PupilKey], removed: dict[str, int]) -> None:
    """Counts only: a log line naming the pupil would keep what was just removed."""
    counts = ", ".join(f"{table} {count}" for table, count in removed.items() if count)
    log.info("%s removed %d pupil(s) past the register's retention: %s", service, len(pupils), counts or "no rows")


async def apply_in_order(
    session: AsyncSession,
    events: Sequence[tuple[str, Event]],
    apply: Callable[[AsyncSession, Sequence[tuple[str, Event]]], Awaitable[None]],
    remove_pupils: Callable[[AsyncSession, Sequence[PupilKey]], Awaitable[dict[str, int]]],
    *,
    service: str,
) -> None:
    """A reader's batch: `apply` for the events, `remove_pupils` for each removal, in order."""
    for segment, removed in removal_segments(events):
        if segment:
            await apply(session, segment)
        if removed:
            log_removal(service, removed, await remove_pupils(session, removed))
