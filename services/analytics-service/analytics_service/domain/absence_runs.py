"""Each pupil's continuous runs of unauthorised absence and spells and totals of illness over a
period, by the shared rule (`attendance_shared.rules.absence_runs`). Pure: no I/O.

The school's rows are first narrowed with whole-array counts (a run of 10 days needs 10
unauthorised sessions; 15 days of illness need 30 illness sessions), so the plain rule runs
only for the few pupils who can qualify.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np

from analytics_service.domain.encoding import BYTE_OF_CODE, STORED_CODES, UNAUTHORISED
from analytics_service.domain.year_matrix import YearMatrix
from attendance_shared.rules.absence_runs import (
    LONG_SICKNESS_SESSIONS,
    MarkedDay,
    Run,
    continuous_unauthorised_runs,
    cumulative_sickness,
    reportable,
    sickness_spells,
)
from attendance_shared.rules.codes import ILLNESS_CODE
from attendance_shared.rules.figures import academic_year_start
from attendance_shared.rules.thresholds import CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS

RunsAsked = Literal["continuous_unauthorised", "sickness"]
QualifiedBy = Literal["continuous_unauthorised", "sickness_spell", "sickness_cumulative"]


@dataclass
class YearRows:
    """One academic year of a school's pupils, cut at the period's end (`end_slot`)."""

    academic_year: int
    upns: Sequence[str]
    matrix: YearMatrix  # already masked to each pupil's enrolments
    end_slot: int
    row_of: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.row_of = {upn: row for row, upn in enumerate(self.upns)}


def marked_days(academic_year: int, codes: np.ndarray) -> list[MarkedDay]:
    """A pupil's days with at least one marked session, each with the codes marked that day."""
    first = academic_year_start(academic_year)
    days: list[MarkedDay] = []
    last_day = -1
    for slot in np.flatnonzero(codes).tolist():
        code = STORED_CODES[codes[slot]]
        if slot // 2 == last_day:
            days[-1][1].append(code)  # type: ignore[attr-defined]
        else:
            last_day = slot // 2
            days.append((first + timedelta(days=last_day), [code]))
    return days


def _candidates(years: Sequence[YearRows], asked: RunsAsked) -> set[str]:
    if asked == "continuous_unauthorised":
        unauthorised: dict[str, int] = {}
        for y in years:
            counts = np.count_nonzero(y.matrix.categories[:, : y.end_slot] == UNAUTHORISED, axis=1)
            for upn, count in zip(y.upns, counts.tolist(), strict=True):
                unauthorised[upn] = unauthorised.get(upn, 0) + count
        return {upn for upn, count in unauthorised.items() if count >= CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS}
    found: set[str] = set()
    for y in years:
        illness = np.count_nonzero(y.matrix.codes[:, : y.end_slot] == BYTE_OF_CODE[ILLNESS_CODE], axis=1)
        ill = zip(y.upns, illness.tolist(), strict=True)
        found.update(upn for upn, count in ill if count >= LONG_SICKNESS_SESSIONS)
    return found


def pupil_runs(
    years: Sequence[YearRows], upn: str, asked: RunsAsked, period_start: date
) -> list[tuple[QualifiedBy, Run]]:
    """One pupil's reportable runs: continuous absence followed across the years given, in
    order (a run begun in July goes on in September); illness spells and totals within each
    school year."""
    per_year = [
        marked_days(y.academic_year, y.matrix.codes[y.row_of[upn], : y.end_slot]) for y in years if upn in y.row_of
    ]
    if asked == "continuous_unauthorised":
        days = [day for year_days in per_year for day in year_days]
        runs = reportable(continuous_unauthorised_runs(days), period_start)
        return [("continuous_unauthorised", run) for run in runs]
    found: list[tuple[QualifiedBy, Run]] = []
    for days in per_year:
        found += [("sickness_spell", spell) for spell in reportable(sickness_spells(days), period_start)]
        found += [("sickness_cumulative", total) for total in reportable([cumulative_sickness(days)], period_start)]
    return found


def runs_of_school(
    years: Sequence[YearRows], asked: RunsAsked, period_start: date, after: str | None, limit: int
) -> tuple[list[tuple[str, QualifiedBy, Run]], str | None]:
    """Up to `limit` pupils' reportable runs in UPN order after `after`, and the cursor for more."""
    found: list[tuple[str, QualifiedBy, Run]] = []
    pupils = 0
    for upn in sorted(_candidates(years, asked)):
        if after is not None and upn <= after:
            continue
        runs = pupil_runs(years, upn, asked, period_start)
        if not runs:
            continue
        if pupils == limit:
            return found, found[-1][0]
        found += [(upn, qualified_by, run) for qualified_by, run in runs]
        pupils += 1
    return found, None
