"""What the retention tests share: every table that holds a pupil's rows, and a pupil's
register entries moved a day into the past."""

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attendance_shared.events import pupil_key
from tests.helpers import scalar

SCHEMAS = ("register", "analytics", "notification", "la_returns", "support")
# A table of each service that holds every pupil it has heard of: the pupil has reached it.
EVERY_SERVICE = (
    "register.pupils",
    "analytics.enrolments",
    "notification.pupil_contacts",
    "la_returns.pupils",
    "support.pupils",
)


async def made_a_day_earlier(
    engine: AsyncEngine, upn: str, *, urn: str = "100001", marks_only_of: str | None = None
) -> None:
    """Every entry of the pupil (or only their marks of one day) a day older than it is: the
    register's timestamps are the database's, so a test can only move them back."""
    async with engine.begin() as conn:
        if marks_only_of:
            await conn.execute(
                text(
                    "UPDATE register.marks SET recorded_at = recorded_at - interval '1 day' "
                    "WHERE upn = :u AND date = :d"
                ),
                {"u": upn, "d": date.fromisoformat(marks_only_of)},
            )
            return
        for statement in (
            "UPDATE register.pupils SET created_at = created_at - interval '1 day', "
            "updated_at = updated_at - interval '1 day', deleted_at = deleted_at - interval '1 day' WHERE upn = :u",
            "UPDATE register.enrolments SET created_at = created_at - interval '1 day', "
            "deleted_at = deleted_at - interval '1 day' WHERE upn = :u",
            "UPDATE register.pupil_versions SET recorded_at = recorded_at - interval '1 day' WHERE upn = :u",
            "UPDATE register.marks SET recorded_at = recorded_at - interval '1 day' WHERE upn = :u",
            "UPDATE register.outbox SET created_at = created_at - interval '1 day' WHERE key = :key",
        ):
            await conn.execute(text(statement), {"u": upn, "key": pupil_key(urn, upn)})


async def rows_of(engine: AsyncEngine, upn: str) -> dict[str, int]:
    """The pupil's rows in every table of every service that has a `upn` column: a table added
    later is looked at without being named here."""
    async with engine.connect() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.columns "
                    "JOIN information_schema.tables USING (table_schema, table_name) "
                    "WHERE column_name = 'upn' AND table_type = 'BASE TABLE' AND table_schema = ANY(:schemas) "
                    "ORDER BY 1, 2"
                ),
                {"schemas": list(SCHEMAS)},
            )
        ).all()
    return {
        f"{schema}.{table}": await scalar(engine, f"SELECT count(*) FROM {schema}.{table} WHERE upn = :u", u=upn)  # type: ignore[misc]
        for schema, table in tables
    }
