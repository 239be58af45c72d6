"""Earlier school years put straight into the databases, as a school that has kept its
registers for six years holds them, so queries and ingest are measured over six years of rows
in minutes rather than replayed for hours:

    make bench BENCH_ARGS="--history 5"

Each earlier year is the generator's year (another seed, the same schools and pupils) moved
back whole weeks, so every day keeps its weekday and falls in the academic year it stands
for. Its register entries are copied into `register.marks` as the register stores them
(every amendment its own revision), and each pupil's year into `analytics.pupil_years` in
analytics' own storage format, with its figures counted by analytics' own functions. Nothing
goes through the API or the stream: the replay that follows is what is measured.

Not filled: the register's outbox of those years (bytes on disk only; a year's is measured by
`--year`), their flags (the flag list reads one year's; a year recomputed would raise them,
which a school's new settings or calendar do, a pupil's change no longer does), and the
services that keep no per-mark rows (notification, la-returns, support).
"""

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from analytics_service.domain.encoding import BYTE_OF_CODE, day_of_slot, slot_of
from analytics_service.domain.pupil_year import PupilYear
from analytics_service.domain.year_matrix import YearMatrix, category_counts, unexplained_counts
from attendance_bench.generator import ACADEMIC_YEAR, School, SchoolDay, school_year
from attendance_bench.measures import postgres
from attendance_shared.rules.figures import academic_year_of
from register_service.repository.marks import STORED_COLUMNS as MARK_COLUMNS  # as the register copies them in

MOST_YEARS = 5  # with the replayed year, the 6 years a register is kept
RECORDED_BY = "bench-history"
COPY_ROWS = 200_000  # register entries held before each COPY, so the client stays small
PUPIL_YEAR_COLUMNS = (
    "school_urn",
    "upn",
    "academic_year",
    "la_code",
    "codes",
    "revisions",
    "possible",
    "present",
    "approved_educational_activity",
    "authorised",
    "unauthorised",
    "latest_date",
    "flags",
    "unexplained",
)


def weeks_back(years: int) -> timedelta:
    """52 weeks a year: a day keeps its weekday and, up to `MOST_YEARS` back, its place in
    the academic year (the drift is a day and a quarter a year)."""
    return timedelta(weeks=52 * years)


def _at(day: date, session: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9 if session == "am" else 13, minutes=30)


@dataclass
class EarlierYear:
    """One earlier year of every school: its register rows, as the register stores them, and
    each pupil's year of stored codes, as analytics stores it."""

    academic_year: int
    marks: list[tuple] = field(default_factory=list)  # taken since the last COPY
    pupils: dict[tuple[str, str], PupilYear] = field(default_factory=dict)
    revisions: dict[tuple[str, str, date, str], int] = field(default_factory=dict)  # amended sessions'

    def mark(self, urn: str, day: date, session: str, mark: dict) -> None:
        self.marks.append(
            (
                urn,
                mark["upn"],
                day,
                session,
                mark["code"],
                1,
                None,
                None,
                mark.get("minutes_late"),
                mark.get("note"),
                None,
                None,
                RECORDED_BY,
                _at(day, session),
            )
        )
        self._store(urn, mark["upn"], day, session, mark["code"], 1)

    def amend(self, urn: str, upn: str, day: date, session: str, on: date, body: dict, previous: str) -> None:
        key = (urn, upn, day, session)
        revision = self.revisions.get(key, 1) + 1
        self.revisions[key] = revision
        made_by = body.get("made_by") or {}
        self.marks.append(
            (
                urn,
                upn,
                day,
                session,
                body["code"],
                revision,
                previous,
                body.get("reason"),
                None,
                None,
                made_by.get("name"),
                made_by.get("position"),
                RECORDED_BY,
                _at(on, "pm") + timedelta(hours=2),
            )
        )
        self._store(urn, upn, day, session, body["code"], revision)

    def _store(self, urn: str, upn: str, day: date, session: str, code: str, revision: int) -> None:
        pupil = self.pupils.get((urn, upn))
        if pupil is None:
            pupil = self.pupils[(urn, upn)] = PupilYear()
        slot = slot_of(day, session)
        pupil.codes[slot] = BYTE_OF_CODE[code]
        if revision > 1:
            pupil.amended[slot] = revision

    def take(self, school_day: SchoolDay, back: timedelta) -> None:
        day = school_day.day - back
        for register in school_day.registers:
            for mark in register.marks:
                self.mark(register.urn, day, register.session, mark)
        for amendment in school_day.amendments:
            self.amend(
                amendment.urn,
                amendment.upn,
                amendment.day - back,
                amendment.session,
                day,
                amendment.body,
                amendment.previous_code,
            )

    def pupil_years(self, la_code_of: dict[str, str]) -> list[tuple]:
        """Every pupil's year as analytics stores it; the figures counted as its consumer
        counts them (analytics_service.domain.year_matrix)."""
        keys = sorted(self.pupils)
        matrix = YearMatrix.of(self.academic_year, [self.pupils[k].codes for k in keys], [None] * len(keys))
        counts = category_counts(matrix.categories)
        unexplained = unexplained_counts(matrix).tolist()
        latest = matrix.latest_slot().tolist()
        rows = []
        for i, (urn, upn) in enumerate(keys):
            present, aea, authorised, unauthorised = (int(n) for n in counts[i, 1:5])
            pupil = self.pupils[(urn, upn)]
            rows.append(
                (
                    urn,
                    upn,
                    self.academic_year,
                    la_code_of[urn],
                    bytes(pupil.codes),
                    pupil.revisions_bytes(),
                    present + aea + authorised + unauthorised,
                    present,
                    aea,
                    authorised,
                    unauthorised,
                    day_of_slot(self.academic_year, latest[i]) if latest[i] >= 0 else None,
                    0,
                    unexplained[i],
                )
            )
        return rows


async def fill_history(database_url: str, schools: list[School], seed: int, years: int) -> dict[str, object]:
    """COPY the `years` before the replayed one (most recent first, each generated whole, with
    its own seed) into the register's and analytics' tables, then VACUUM ANALYZE them, as
    years of autovacuum would have left them."""
    la_code_of = {school.urn: school.la_code for school in schools}
    started = time.monotonic()
    filled: dict[str, int] = {"marks": 0, "pupil_years": 0}

    async with postgres(database_url) as connection:

        async def copy_marks(year: EarlierYear) -> None:
            await connection.copy_records_to_table(
                "marks", schema_name="register", columns=MARK_COLUMNS, records=year.marks
            )
            filled["marks"] += len(year.marks)
            year.marks.clear()

        for back in range(1, years + 1):
            shift = weeks_back(back)
            year = EarlierYear(ACADEMIC_YEAR - back)
            for school_day in school_year(schools, seed + 7919 * back):
                assert academic_year_of(school_day.day - shift) == year.academic_year
                year.take(school_day, shift)
                if len(year.marks) >= COPY_ROWS:
                    await copy_marks(year)
            await copy_marks(year)
            rows = year.pupil_years(la_code_of)
            await connection.copy_records_to_table(
                "pupil_years", schema_name="analytics", columns=PUPIL_YEAR_COLUMNS, records=rows
            )
            filled["pupil_years"] += len(rows)
            print(
                f"  history: {year.academic_year}/{(year.academic_year + 1) % 100:02d} copied in "
                f"({filled['marks']:,} register entries, {filled['pupil_years']:,} pupil-years so far, "
                f"{time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        await connection.execute("VACUUM (ANALYZE) register.marks")
        await connection.execute("VACUUM (ANALYZE) analytics.pupil_years")
    return {
        "years": years,
        "academic_years": [ACADEMIC_YEAR - back for back in range(1, years + 1)],
        **filled,
        "seconds": round(time.monotonic() - started, 1),
    }
