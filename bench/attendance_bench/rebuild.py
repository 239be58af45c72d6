"""Analytics rebuilt from the register's log at scale: timed against the broker's raw consume
rate measured in the same run, and compared with the live projection it must equal."""

import asyncio
import re
import subprocess
import sys
import time
from collections import Counter

import asyncpg

from attendance_bench.measures import broker_messages_per_second

# What a rebuild must reproduce exactly. The figures a flag row keeps are those of the batch
# that raised it, and a replay batches differently: which flags are active must not differ.
PROJECTION_QUERIES = {
    "pupil_years": "SELECT school_urn, upn, academic_year, codes, possible, present, approved_educational_activity,"
    " authorised, unauthorised, latest_date, flags FROM analytics.pupil_years ORDER BY 1, 2, 3",
    "active_flags": "SELECT school_urn, upn, academic_year, flag FROM analytics.risk_flags WHERE active",
    "enrolments": "SELECT * FROM analytics.enrolments ORDER BY 1, 2, 3",
    "pupil_versions": "SELECT * FROM analytics.pupil_versions ORDER BY 1, 2, 3",
    "calendars": "SELECT * FROM analytics.school_calendars ORDER BY 1, 2",
}


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def projection(dsn: str) -> dict[str, Counter[tuple]]:
    """Each projection's rows, as a multiset: compared in Python, so neither database's
    collation orders anything."""
    connection = await asyncpg.connect(plain(dsn))
    try:
        return {
            name: Counter(tuple(r) for r in await connection.fetch(sql)) for name, sql in PROJECTION_QUERIES.items()
        }
    finally:
        await connection.close()


def differing_rows(live: Counter[tuple], rebuilt: Counter[tuple], most: int = 5) -> dict[str, list[str]]:
    """A few rows only the live projection has, and a few only the rebuilt one has."""
    return {
        "only_live": sorted(map(str, (live - rebuilt).elements()))[:most],
        "only_rebuilt": sorted(map(str, (rebuilt - live).elements()))[:most],
    }


async def rebuild_figures(database_url: str, env: dict[str, str], register_url: str, kafka: object) -> dict:
    admin = await asyncpg.connect(plain(database_url))
    try:
        await admin.execute("DROP DATABASE IF EXISTS rebuilt")
        await admin.execute("CREATE DATABASE rebuilt")
    finally:
        await admin.close()
    rebuilt_url = database_url.rsplit("/", 1)[0] + "/rebuilt"
    env = {**env, "DATABASE_URL": rebuilt_url}
    migrate = [sys.executable, "-m", "attendance_shared.migrations", "analytics"]
    await asyncio.to_thread(subprocess.run, migrate, env=env, check=True, capture_output=True)
    command = [
        sys.executable,
        "-m",
        "analytics_service.rebuild",
        "--group-id",
        "analytics-service-rebuild-bench",  # beside the live group, which keeps its offsets
        "--register-url",
        register_url,
    ]
    started = time.monotonic()
    # Its progress bar goes to this stderr; its closing line says how many events it replayed.
    done = await asyncio.to_thread(subprocess.run, command, env=env, stdout=subprocess.PIPE, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"the rebuild failed ({done.returncode}): {done.stdout[-2000:]}")
    found = re.search(r"rebuilt analytics from ([\d,]+) events holding ([\d,]+) marks", done.stdout)
    events, marks = (int(found.group(i).replace(",", "")) for i in (1, 2)) if found else (0, 0)
    live, rebuilt = await projection(database_url), await projection(rebuilt_url)
    differences = {name: differing_rows(live[name], rebuilt[name]) for name in live if live[name] != rebuilt[name]}
    raw = await broker_messages_per_second(kafka, 200_000)  # type: ignore[arg-type]
    # The raw rate is of records the size of one mark's event: the rebuild's marks a second
    # against it is a year of marks rebuilt against a year of mark-sized records merely read.
    rate = marks / max(seconds, 1e-9)
    return {
        "differences": differences,
        "events": events,
        "marks": marks,
        "seconds": round(seconds, 1),
        "events_per_second": round(events / max(seconds, 1e-9)),
        "marks_per_second": round(rate),
        "raw_consume_per_second": raw["consume_per_second"],
        "share_of_raw_consume": round(rate / raw["consume_per_second"], 3),
        "equal_to_live": {name: live[name] == rebuilt[name] for name in PROJECTION_QUERIES},
        "rows": {name: sum(rows.values()) for name, rows in live.items()},
    }
