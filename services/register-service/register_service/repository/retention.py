"""The retention job's queries for pupils: who is past the register's period, and the removal
of all their rows. (Single marks and outbox rows are `RetentionRule`s, in the service.)

Each query takes `kept_from`, the instant before which an entry's 6 years are over
(attendance_shared.rules.retention), so the same statement counts in a dry run and locks in a
real one.
"""

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class PupilPastRetention(NamedTuple):
    school_urn: str
    la_code: str
    upn: str
    last_entry_at: datetime


# Off roll, and no register entry of the pupil (the admission register's row and versions,
# each stay, each mark and amendment) made on or after `kept_from`.
_PUPILS_PAST_RETENTION = """
    SELECT p.school_urn, s.la_code, p.upn,
           greatest(p.created_at, p.updated_at, coalesce(p.deleted_at, p.created_at),
                    coalesce((SELECT max(m.recorded_at) FROM register.marks m
                              WHERE m.school_urn = p.school_urn AND m.upn = p.upn), p.created_at)
           ) AS last_entry_at
    FROM register.pupils p JOIN register.schools s ON s.urn = p.school_urn
    WHERE p.left_on IS NOT NULL AND p.left_on < :today
      AND p.created_at < :kept_from AND p.updated_at < :kept_from
      AND coalesce(p.deleted_at, p.created_at) < :kept_from
      AND NOT EXISTS (SELECT 1 FROM register.marks m
                      WHERE m.school_urn = p.school_urn AND m.upn = p.upn AND m.recorded_at >= :kept_from)
      AND NOT EXISTS (SELECT 1 FROM register.pupil_versions v
                      WHERE v.school_urn = p.school_urn AND v.upn = p.upn AND v.recorded_at >= :kept_from)
      AND NOT EXISTS (SELECT 1 FROM register.enrolments e
                      WHERE e.school_urn = p.school_urn AND e.upn = p.upn
                        AND (e.created_at >= :kept_from OR e.deleted_at >= :kept_from))
"""


async def count_pupils_past_retention(session: AsyncSession, *, today: date, kept_from: datetime) -> int:
    query = text(f"SELECT count(*) FROM ({_PUPILS_PAST_RETENTION}) AS past")
    return await session.scalar(query, {"today": today, "kept_from": kept_from}) or 0


async def lock_pupils_past_retention(
    session: AsyncSession, *, today: date, kept_from: datetime, limit: int
) -> list[PupilPastRetention]:
    """A batch of them, each locked: a re-admission of one of them at this moment (which locks
    the pupil's row too) either waits for the removal or is skipped here until the next run."""
    query = text(f"{_PUPILS_PAST_RETENTION} ORDER BY p.school_urn, p.upn LIMIT :limit FOR UPDATE OF p SKIP LOCKED")
    rows = await session.execute(query, {"today": today, "kept_from": kept_from, "limit": limit})
    return [PupilPastRetention(*row) for row in rows]


# Each table holding a pupil's rows, children before the rows they refer to; `{pupils}` is the
# batch's (school_urn, upn) pairs, so each table is one statement for the whole batch.
_PUPIL_TABLES = (
    ("marks", "(school_urn, upn) IN ({pupils})"),
    ("planned_marks", "(school_urn, upn) IN ({pupils})"),
    ("absence_reports", "(school_urn, upn) IN ({pupils})"),
    ("leave_requests", "(school_urn, upn) IN ({pupils})"),
    (
        "part_time_timetable_versions",
        "timetable_id IN (SELECT id FROM register.part_time_timetables WHERE (school_urn, upn) IN ({pupils}))",
    ),
    ("part_time_timetables", "(school_urn, upn) IN ({pupils})"),
    ("pupil_versions", "(school_urn, upn) IN ({pupils})"),
    ("enrolments", "(school_urn, upn) IN ({pupils})"),
    ("pupils", "(school_urn, upn) IN ({pupils})"),
)
_BATCH = "SELECT * FROM unnest(CAST(:urns AS text[]), CAST(:upns AS text[]))"


async def remove_pupils(session: AsyncSession, pupils: list[PupilPastRetention]) -> dict[str, int]:
    """Every row of these pupils, by table. The admission register's trigger lets the
    retention job, and only it, delete a pupil (the transaction says it is that job)."""
    await session.execute(text("SET LOCAL register.retention_job = 'on'"))
    batch = {"urns": [p.school_urn for p in pupils], "upns": [p.upn for p in pupils]}
    removed: dict[str, int] = {}
    for table, where in _PUPIL_TABLES:
        statement = text(f"DELETE FROM register.{table} WHERE {where.format(pupils=_BATCH)}")
        removed[table] = (await session.execute(statement, batch)).rowcount
    return removed
