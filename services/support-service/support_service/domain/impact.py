"""Did what the school did move attendance? For each intervention (a support plan, or an
action of one kind), the pupil's attendance over the N school weeks before it started against
the N school weeks from its start, and beside it the same change for comparable pupils who had
no such intervention in those weeks. Pure arithmetic over weekly figures.

The method, stated once (the API documentation quotes `METHOD`):
- Windows: "before" is the N school weeks ending the week before the one the intervention
  started in; "after" is N school weeks from that week. A school week is a week with a school
  day (half-terms and holidays are skipped). An intervention is measured once its after-window
  is over, and only if the pupil had possible sessions in both windows.
- Attendance in a window: attended sessions (present or approved educational activity) over
  possible sessions, as in every DfE figure. Change: after minus before, in percentage points.
- Comparison group, per intervention: pupils of the same school in the same absence band as
  the pupil over the academic year before the intervention started (severe: 50% or more;
  persistent: 10% to 50%; at risk: 5% to 10%), with possible sessions in both windows and no
  intervention of the same kind in them. Their mean change over the same windows is the change
  to expect without the intervention: pupils chosen because their absence is high tend to
  improve anyway (regression to the mean). The difference between the two is the estimate of
  the intervention's effect. Pupils under 5% absence at the start have no comparison group.
- Aggregates: the mean of each measured intervention's figures (each counts once, whatever its
  school's size) and the share that improved (change above zero). The comparison's figures are
  over the interventions that had a comparison group: their own mean change, the comparable
  pupils' mean change, and the mean difference, which is the one to read as the effect.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import fmean

from attendance_shared.rules.thresholds import (
    AT_RISK_LOWER_PERCENT,
    PERSISTENT_ABSENCE_PERCENT,
    SEVERE_ABSENCE_PERCENT,
)

METHOD = __doc__.split("The method, stated once (the API documentation quotes `METHOD`):\n", 1)[1].strip()


@dataclass(frozen=True, slots=True)
class Series:
    """One pupil's possible and attended sessions in each of the school's weeks."""

    possible: Sequence[int]
    attended: Sequence[int]

    def window(self, first: int, last: int) -> tuple[int, int]:
        return sum(self.possible[first:last]), sum(self.attended[first:last])


@dataclass(frozen=True, slots=True)
class Intervention:
    kind: str  # "plan", or an action type
    school_urn: str
    upn: str
    started_on: date
    case_id: str


@dataclass(frozen=True, slots=True)
class Measured:
    intervention: Intervention
    band: str | None
    before: float
    after: float
    change: float
    comparison_change: float | None
    comparison_pupils: int


@dataclass(slots=True)
class Unmeasured:
    too_recent: int = 0  # the after-window is not over
    no_sessions: int = 0  # no possible session in a window, or weeks missing before it


def percent(attended: int, possible: int) -> float | None:
    return 100 * attended / possible if possible else None


def band_of(absence_percent: float | None) -> str | None:
    if absence_percent is None or absence_percent < AT_RISK_LOWER_PERCENT:
        return None
    if absence_percent >= SEVERE_ABSENCE_PERCENT:
        return "severe"
    if absence_percent >= PERSISTENT_ABSENCE_PERCENT:
        return "persistent"
    return "at_risk"


def week_index(weeks: Sequence[date], day: date) -> int:
    """The position of the school week holding `day`, or of the first school week after it."""
    monday = date.fromordinal(day.toordinal() - day.weekday())
    for i, week in enumerate(weeks):
        if week >= monday:
            return i
    return len(weeks)


def _band_at(series: Series, year_start: int, start: int) -> str | None:
    possible, attended = series.window(year_start, start)
    rate = percent(attended, possible)
    return band_of(None if rate is None else 100 - rate)


def measure(
    intervention: Intervention,
    *,
    weeks: Sequence[date],
    year_start_of: dict[int, int],
    series: dict[str, Series],
    same_kind_windows: dict[str, list[tuple[int, int]]],
    n: int,
    current_week: int,
    unmeasured: Unmeasured,
) -> Measured | None:
    """The intervention's before and after, and its comparison group's change. `weeks` are the
    school's school weeks, `series` each pupil's figures aligned to them, `year_start_of` the
    first week of the academic year holding each week, and `same_kind_windows` the weeks each
    pupil had an intervention of this kind (first, last), to leave them out of the comparison."""
    start = week_index(weeks, intervention.started_on)
    if start + n > current_week:
        unmeasured.too_recent += 1
        return None
    pupil = series.get(intervention.upn)
    if start - n < 0 or pupil is None:
        unmeasured.no_sessions += 1
        return None
    before, after = pupil.window(start - n, start), pupil.window(start, start + n)
    before_rate, after_rate = percent(before[1], before[0]), percent(after[1], after[0])
    if before_rate is None or after_rate is None:
        unmeasured.no_sessions += 1
        return None
    band = _band_at(pupil, year_start_of.get(start, 0), start)
    changes = []
    if band is not None:
        for upn, other in series.items():
            if upn == intervention.upn or _overlaps(same_kind_windows.get(upn, []), start - n, start + n):
                continue
            if _band_at(other, year_start_of.get(start, 0), start) != band:
                continue
            other_before, other_after = other.window(start - n, start), other.window(start, start + n)
            rates = percent(other_before[1], other_before[0]), percent(other_after[1], other_after[0])
            if rates[0] is not None and rates[1] is not None:
                changes.append(rates[1] - rates[0])
    return Measured(
        intervention=intervention,
        band=band,
        before=before_rate,
        after=after_rate,
        change=after_rate - before_rate,
        comparison_change=fmean(changes) if changes else None,
        comparison_pupils=len(changes),
    )


def _overlaps(windows: Iterable[tuple[int, int]], first: int, last: int) -> bool:
    return any(a < last and first < b for a, b in windows)


@dataclass(frozen=True, slots=True)
class Summary:
    kind: str
    measured: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    share_improved: float | None
    compared: int
    compared_mean_change: float | None
    comparison_pupils: int
    comparison_mean_change: float | None
    mean_difference: float | None
    too_recent: int = 0
    no_sessions: int = 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def summarise(kind: str, measured: Sequence[Measured], unmeasured: Unmeasured) -> Summary:
    compared = [m for m in measured if m.comparison_change is not None]
    return Summary(
        kind=kind,
        measured=len(measured),
        mean_before=_round(fmean(m.before for m in measured)) if measured else None,
        mean_after=_round(fmean(m.after for m in measured)) if measured else None,
        mean_change=_round(fmean(m.change for m in measured)) if measured else None,
        share_improved=_round(100 * sum(m.change > 0 for m in measured) / len(measured)) if measured else None,
        compared=len(compared),
        compared_mean_change=_round(fmean(m.change for m in compared)) if compared else None,
        comparison_pupils=sum(m.comparison_pupils for m in compared),
        comparison_mean_change=_round(fmean(m.comparison_change for m in compared)) if compared else None,  # type: ignore[misc]
        mean_difference=_round(fmean(m.change - m.comparison_change for m in compared)) if compared else None,  # type: ignore[operator]
        too_recent=unmeasured.too_recent,
        no_sessions=unmeasured.no_sessions,
    )


def year_starts(weeks: Sequence[date]) -> dict[int, int]:
    """For each school week's position, the position of the first school week of its academic
    year (from 1 August, as the DfE's years run)."""
    starts: dict[int, int] = {}
    first = 0
    for i, week in enumerate(weeks):
        if i and _academic_year(week) != _academic_year(weeks[i - 1]):
            first = i
        starts[i] = first
    return starts


def _academic_year(day: date) -> int:
    return day.year if day.month >= 8 else day.year - 1
