"""The views leaders, governors and LA officers use: absence bands, spells, reasons as rates,
monthly trends, year on year, compare tables, tiers, and the pupil's figure explained."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_service.domain.encoding import CATEGORY_OF_BYTE, SLOTS, slot_of
from analytics_service.domain.reports import Tally, tally
from analytics_service.domain.spells import Spells, persistent_absence_risk, spells_of
from analytics_service.domain.year_matrix import enrolment_mask, upn_of
from analytics_service.models import attendance_tiers
from analytics_service.repository import projections
from analytics_service.schemas import (
    AbsenceBands,
    AbsenceReasons,
    BandGroup,
    BandOut,
    BandPupil,
    BandPupilPage,
    CohortAttribute,
    CohortFigures,
    CompareRow,
    CompareTable,
    Explained,
    Figures,
    MonthlySeries,
    MonthOut,
    Period,
    Rank,
    ReasonOut,
    SpellPage,
    SpellRow,
    TierIn,
    TiersIn,
    TiersOut,
    TrustAttendance,
    TrustSchool,
    YearOnYear,
    YearToDate,
)
from analytics_service.service import queries
from analytics_service.service.years import year_of
from attendance_shared.clock import today_in_england
from attendance_shared.errors import NotFound, Unprocessable
from attendance_shared.rules import national_benchmarks
from attendance_shared.rules.bands import MIN_POSSIBLE_SESSIONS_FOR_BANDS, band_indices, bands
from attendance_shared.rules.explained import explain
from attendance_shared.rules.figures import AttendanceFigures, academic_year_of, academic_year_start
from attendance_shared.rules.reasons import REASONS
from attendance_shared.rules.tiers import DEFAULT_TIERS, Tier, tier_of, tier_problems


def _rate(n: int, d: int) -> float | None:
    return round(100 * n / d, 2) if d else None


# --- tiers --------------------------------------------------------------------------------

DEFAULT_TIERS_OUT = TiersOut(
    tiers=[TierIn(name=t.name, above_percent=t.above_percent) for t in DEFAULT_TIERS], source="default"
)


async def tiers_of_school(session: AsyncSession, urn: str) -> TiersOut:
    """The school's own tiers, else its LA's, else the defaults."""
    la_code = await projections.school_la_code(session, urn)
    found = {
        (r.scope, r.code): r.tiers
        for r in await session.execute(
            select(attendance_tiers).where(
                ((attendance_tiers.c.scope == "school") & (attendance_tiers.c.code == urn))
                | ((attendance_tiers.c.scope == "la") & (attendance_tiers.c.code == (la_code or "")))
            )
        )
    }
    for scope, code in (("school", urn), ("la", la_code)):
        if (scope, code) in found:
            return TiersOut(tiers=[TierIn(**t) for t in found[(scope, code)]], source=scope)  # type: ignore[arg-type]
    return DEFAULT_TIERS_OUT


async def tiers_of_la(session: AsyncSession, la_code: str) -> TiersOut:
    row = await session.scalar(
        select(attendance_tiers.c.tiers).where(attendance_tiers.c.scope == "la", attendance_tiers.c.code == la_code)
    )
    if row is not None:
        return TiersOut(tiers=[TierIn(**t) for t in row], source="la")
    return DEFAULT_TIERS_OUT


def _as_tiers(tiers: TiersOut | TiersIn) -> list[Tier]:
    return [Tier(t.name, t.above_percent) for t in tiers.tiers]


async def put_tiers(session: AsyncSession, scope: str, code: str, body: TiersIn) -> TiersOut:
    problems = tier_problems(_as_tiers(body))
    if problems:
        raise Unprocessable(
            "the tiers are not a sound list, best first",
            errors=[{"location": ["body", "tiers", i, field], "message": m} for i, field, m in problems],
        )
    values = [t.model_dump() for t in body.tiers]
    statement = insert(attendance_tiers).values(scope=scope, code=code, tiers=values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["scope", "code"], set_={"tiers": values, "updated_at": statement.excluded.updated_at}
        )
    )
    return TiersOut(tiers=body.tiers, source=scope)  # type: ignore[arg-type]


async def delete_tiers(session: AsyncSession, scope: str, code: str) -> None:
    await session.execute(
        attendance_tiers.delete().where(attendance_tiers.c.scope == scope, attendance_tiers.c.code == code)
    )


# --- per-pupil totals of one or many schools ----------------------------------------------


@dataclass
class SchoolTotals:
    urn: str
    tally: Tally


async def _school_totals(session: AsyncSession, urns: Sequence[str], period: Period) -> list[SchoolTotals]:
    """Each school's per-pupil totals over the period, a school at a time."""
    found = []
    for urn in urns:
        total = Tally()
        for s in await queries.school_slices(session, urn, period):
            tally(s.upns, s.matrix, s.start_slot, s.end_slot, total)
        found.append(SchoolTotals(urn, total))
    return found


def _absent_possible(t: Tally) -> tuple[np.ndarray, np.ndarray]:
    return t.rows[:, 3] + t.rows[:, 4], t.rows[:, 1:5].sum(axis=1)


def _attribute_at(versions: list, day: date, attribute: str) -> str:
    chosen = None
    for version in versions:
        if chosen is None or version.effective_from <= day:
            chosen = version
    return queries.version_label(attribute)(chosen) if chosen is not None else "unknown"  # type: ignore[arg-type]


def _band_lines(indices: np.ndarray, width: int) -> list[BandOut]:
    counted = int(np.count_nonzero(indices >= 0))
    lines = []
    for index, band in enumerate(bands(width)):
        n = int(np.count_nonzero(indices == index))
        lines.append(
            BandOut(
                band=band.key,
                label=band.label,
                lower_percent=band.lower,
                upper_percent=band.upper,
                pupils=n,
                share=_rate(n, counted),
            )
        )
    return lines


async def absence_bands(
    session: AsyncSession, urns: Sequence[str], period: Period, width: int, group_by: CohortAttribute | None
) -> AbsenceBands:
    """Each school's pupils (each enrolment, as the DfE counts) in 5% bands of overall absence."""
    indices_all: list[np.ndarray] = []
    groups: dict[str, list[int]] = {}
    for school in await _school_totals(session, urns, period):
        absent, possible = _absent_possible(school.tally)
        indices = band_indices(absent, possible, width)
        indices_all.append(indices)
        if group_by is not None:
            versions = await projections.school_versions(session, school.urn)
            for upn, index in zip(school.tally.upns, indices.tolist(), strict=True):
                label = _attribute_at(versions.get(upn_of(upn), []), period.end, group_by)
                groups.setdefault(label, []).append(index)
    indices = np.concatenate(indices_all) if indices_all else np.zeros(0, dtype=np.int64)
    return AbsenceBands(
        period=period,
        width=width,
        minimum_possible_sessions=MIN_POSSIBLE_SESSIONS_FOR_BANDS,
        pupils_counted=int(np.count_nonzero(indices >= 0)),
        pupils_not_counted=int(np.count_nonzero(indices < 0)),
        bands=_band_lines(indices, width),
        group_by=group_by,
        groups=[
            BandGroup(
                group=label,
                pupils_counted=sum(1 for i in groups[label] if i >= 0),
                bands=_band_lines(np.array(groups[label], dtype=np.int64), width),
            )
            for label in sorted(groups, key=queries.natural)
        ],
    )


def band_cursor(value: str) -> tuple[str, str]:
    urn, sep, label = value.partition(":")
    if not sep or not urn.isdigit() or len(upn_of(label)) != 13:
        raise ValueError("not a band cursor")
    return urn, label


async def band_pupils(
    session: AsyncSession,
    urns: Sequence[str],
    period: Period,
    width: int,
    band: int,
    *,
    cursor: tuple[str, str] | None,
    limit: int,
) -> BandPupilPage:
    """The pupils of one band, by school and UPN."""
    items: list[BandPupil] = []
    more = False
    for school in await _school_totals(session, [u for u in urns if cursor is None or u >= cursor[0]], period):
        absent, possible = _absent_possible(school.tally)
        indices = band_indices(absent, possible, width)
        chosen = sorted(
            (label, i)
            for i, label in enumerate(school.tally.upns)
            if indices[i] == band and (cursor is None or (school.urn, label) > cursor)
        )
        if not chosen:
            continue
        versions = await projections.school_versions(session, school.urn, sorted({upn_of(x) for x, _ in chosen}))
        tiers = _as_tiers(await tiers_of_school(session, school.urn))  # only for schools with pupils listed
        for label, i in chosen:
            if len(items) == limit:
                more = True
                break
            a, p = int(absent[i]), int(possible[i])
            history = versions.get(upn_of(label), [])
            items.append(
                BandPupil(
                    upn=label,
                    school_urn=school.urn,
                    year_group=_attribute_at(history, period.end, "year_group") if history else None,
                    possible_sessions=p,
                    absent_sessions=a,
                    overall_absence_rate=round(100 * a / p, 2),
                    tier=tier_of(p - a, p, tiers),
                )
            )
        if more:
            break
    next_cursor = f"{items[-1].school_urn}:{items[-1].upn}" if more else None
    return BandPupilPage(period=period, band=bands(width)[band].key, items=items, next_cursor=next_cursor)


# --- spells -------------------------------------------------------------------------------

SPELLS_METHOD = (
    "A spell is a run of consecutive absent sessions; sessions that are not possible (weekends, holidays, "
    "dual registration, X, unmarked) are skipped, and only attendance ends a spell (FFT Education Datalab). "
    "Risk: persistent at 10% absence or more; high at 7% or more, or 5% or more with a spell at least every "
    "20 possible sessions; moderate at 5% or more, or a spell at least every 20 possible sessions; low "
    "otherwise; unknown below 20 possible sessions."
)


async def pupil_categories(session: AsyncSession, urn: str, period: Period, upns: Sequence[str] | None = None):
    """Each pupil's category numbers over the period, in date order, across its academic years."""
    by_pupil: dict[str, list[np.ndarray]] = {}
    for s in await queries.school_slices(session, urn, period, upns, by_stay=False):
        window = CATEGORY_OF_BYTE[s.matrix.codes[:, s.start_slot : s.end_slot]]
        for row, upn in enumerate(s.upns):
            by_pupil.setdefault(upn, []).append(window[row])
    return {upn: np.concatenate(parts) for upn, parts in by_pupil.items()}


def _spell_row(upn: str, categories: np.ndarray) -> SpellRow:
    found = spells_of(categories)
    possible = int(np.count_nonzero(categories))
    absent = int(np.count_nonzero(categories >= 3))
    return SpellRow(
        upn=upn,
        possible_sessions=possible,
        absent_sessions=absent,
        overall_absence_rate=_rate(absent, possible),
        spells=found.count,
        longest_spell_sessions=found.longest,
        mean_spell_sessions=round(found.sessions / found.count, 2) if found.count else None,
        persistent_absence_risk=persistent_absence_risk(absent, possible, found.count),  # type: ignore[arg-type]
    )


async def absence_spells(
    session: AsyncSession, urn: str, period: Period, *, risk: str | None, cursor: str | None, limit: int
) -> SpellPage:
    categories = await pupil_categories(session, urn, period)
    rows = []
    more = False
    for upn in sorted(u for u in categories if cursor is None or u > cursor):
        row = _spell_row(upn, categories[upn])
        if row.possible_sessions == 0 or (risk is not None and row.persistent_absence_risk != risk):
            continue
        if len(rows) == limit:
            more = True
            break
        rows.append(row)
    return SpellPage(period=period, method=SPELLS_METHOD, items=rows, next_cursor=rows[-1].upn if more else None)


# --- the pupil's figure explained ---------------------------------------------------------


async def explained(session: AsyncSession, urn: str, upn: str, period: Period, figures: Figures) -> Explained:
    absent = figures.authorised_absence_sessions + figures.unauthorised_absence_sessions
    possible = figures.possible_sessions
    year = academic_year_of(period.end)
    remaining = 0
    calendar = year_of(await projections.calendars(session, [(urn, year)]), urn, year)
    # A year-end figure only for a period that holds the year so far: it starts before the
    # school's first session of the year (1 August, or the autumn term's first day).
    from_the_start = (
        period.start <= academic_year_start(year) or not calendar.open_slots[: slot_of(period.start, "am")].any()
    )
    if from_the_start:
        # Sessions still to come count from today when the period runs on past it.
        end_slot = slot_of(min(period.end, today_in_england()), "pm") + 1
        on_roll = np.zeros(SLOTS, dtype=bool)
        ranges = enrolment_mask((await projections.school_enrolments(session, urn)).get(upn), year)
        for start, end in ranges if ranges is not None else [(0, SLOTS)]:
            on_roll[start:end] = True
        remaining = int(np.count_nonzero(calendar.open_slots[end_slot:] & on_roll[end_slot:]))
    words = explain(absent, possible, remaining)
    categories = (await pupil_categories(session, urn, period, [upn])).get(upn)
    found = spells_of(categories) if categories is not None else Spells(0, 0, 0)
    tiers = _as_tiers(await tiers_of_school(session, urn))
    return Explained(
        text=words.text,
        absent_sessions=absent,
        possible_sessions=possible,
        persistent_absence=words.persistent_absence,
        severe_absence=words.severe_absence,
        sessions_to_leave_persistent_absence=words.sessions_to_leave_persistent_absence,
        sessions_to_leave_severe_absence=words.sessions_to_leave_severe_absence,
        remaining_possible_sessions=remaining,
        year_end_attendance_if_no_more_absence=words.year_end_attendance_if_no_more_absence if remaining else None,
        days_missed=words.days_missed,
        lessons_missed_about=words.lessons_missed_about,
        time_missed=words.time_missed,
        tier=tier_of(possible - absent, possible, tiers),
        spells=found.count,
        longest_spell_sessions=found.longest,
        persistent_absence_risk=persistent_absence_risk(absent, possible, found.count),  # type: ignore[arg-type]
    )


# --- reasons, months, year on year --------------------------------------------------------


async def absence_reasons(session: AsyncSession, urns: Sequence[str], period: Period, phase: str | None):
    total = Tally()
    for school in await _school_totals(session, urns, period):
        total.counts += school.tally.counts
        total.codes += school.tally.codes
    codes = total.code_counts()
    possible = int(total.counts[1:5].sum())
    national = national_benchmarks.latest_reason_rates(phase)
    return AbsenceReasons(
        period=period,
        possible_sessions=possible,
        reasons=[
            ReasonOut(
                reason=r.name,
                label=r.label,
                codes=list(r.codes),
                authorised=r.authorised,
                sessions=(n := sum(codes.get(c, 0) for c in r.codes)),
                rate=_rate(n, possible),
                national_rate=national[r.name].rate if r.name in national else None,
                national_period=national[r.name].period if r.name in national else None,
            )
            for r in REASONS
        ],
        reference_version=national_benchmarks.REFERENCE_VERSION,
    )


def _months(start: date, end: date) -> list[tuple[date, date]]:
    spans = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + timedelta(days=32)).replace(day=1)
        spans.append((max(first, start), min(following - timedelta(days=1), end)))
        first = following
    return spans


async def monthly(session: AsyncSession, urn: str, period: Period) -> MonthlySeries:
    slices = await queries.school_slices(session, urn, period)
    months = []
    for lo, hi in _months(period.start, period.end):
        month = Tally()
        for s in slices:
            if s.matrix.academic_year != academic_year_of(lo):
                continue
            start = max(slot_of(lo, "am"), s.start_slot)
            end = min(slot_of(hi, "pm") + 1, s.end_slot)
            if start < end:
                tally(s.upns, s.matrix, start, end, month)
        if month.counts[1:5].any():
            persistent, _ = month.persistent_and_severe()
            months.append(
                MonthOut(
                    month=lo.strftime("%Y-%m"),
                    figures=Figures.of(month.figures),
                    persistent_absence_rate=_rate(persistent, month.pupils),
                )
            )
    return MonthlySeries(period=period, months=months)


def _same_school_day(days_done: int, school_day: np.ndarray, first: date, last: date) -> date:
    """The day last year on which as many school days had passed (its last day if fewer)."""
    running = np.cumsum(school_day)
    index = int(np.searchsorted(running, days_done)) if days_done else 0
    return min(first + timedelta(days=index), last)


async def year_on_year(session: AsyncSession, urn: str, on: date, min_possible: int) -> YearOnYear:
    year = academic_year_of(on)
    calendars = await projections.calendars(session, [(urn, year), (urn, year - 1)])
    this = year_of(calendars, urn, year)
    index = (on - this.first_day).days
    days_done = int(this.school_days_before[index] + this.school_day[index])
    previous = year_of(calendars, urn, year - 1)
    last_end = _same_school_day(
        days_done, previous.school_day, previous.first_day, academic_year_start(year) - timedelta(days=1)
    )

    async def to_date(start: date, end: date) -> YearToDate | None:
        period = Period(start=start, end=end, kind="range")
        found = await queries.school_attendance(session, urn, period, None, min_possible)
        if not found.pupils:
            return None
        return YearToDate(
            period=period,
            pupils=found.pupils,
            figures=found.figures,
            persistent_absence_rate=found.persistent_absence_rate,
            severe_absence_rate=found.severe_absence_rate,
        )

    now = await to_date(academic_year_start(year), on)
    if now is None:
        raise NotFound(f"no attendance recorded for school {urn} this academic year")
    before = await to_date(academic_year_start(year - 1), last_end)
    measures = ("attendance_rate", "overall_absence_rate", "authorised_absence_rate", "unauthorised_absence_rate")
    change: dict[str, float | None] = {}
    for measure in measures:
        a, b = getattr(now.figures, measure), getattr(before.figures, measure) if before else None
        change[measure] = round(a - b, 2) if a is not None and b is not None else None
    for measure in ("persistent_absence_rate", "severe_absence_rate"):
        a, b = getattr(now, measure), getattr(before, measure) if before else None
        change[measure] = round(a - b, 2) if a is not None and b is not None else None
    return YearOnYear(school_day_number=days_done, this_year=now, last_year=before, change=change)


# --- compare tables -----------------------------------------------------------------------

# Each measure and whether more is better.
COMPARE_MEASURES: dict[str, bool] = {
    "attendance_rate": True,
    "persistent_absence_rate": False,
    "severe_absence_rate": False,
    "unauthorised_absence_rate": False,
}


def rank(values: list[float | None], higher_is_better: bool) -> list[Rank]:
    """Competition ranking ("1224"): equal values share a position. The percentile is the share
    of the other ranked schools this one does better than or equals."""
    ranked = [v for v in values if v is not None]
    n = len(ranked)
    out = []
    for v in values:
        if v is None:
            out.append(Rank(value=None, position=None, of=n, percentile=None))
            continue
        better = sum(1 for w in ranked if (w > v if higher_is_better else w < v))
        percentile = round(100 * (n - 1 - better) / (n - 1), 1) if n > 1 else 100.0
        out.append(Rank(value=v, position=better + 1, of=n, percentile=percentile))
    return out


def _measure(line, measure: str) -> float | None:
    return (
        getattr(line.figures, measure)
        if measure in ("attendance_rate", "unauthorised_absence_rate")
        else getattr(line, measure)
    )


async def compare(
    session: AsyncSession, scope: str, urns: Sequence[str], period: Period, phase: str | None, rank_by: str
) -> CompareTable:
    schools = await projections.school_rows(session, urns)
    lines = [
        (t.urn, schools.get(t.urn), queries.cohort(t.urn, t.tally))
        for t in await _school_totals(session, urns, period)
        if t.tally.pupils
    ]
    ranks = {m: rank([_measure(c, m) for _, _, c in lines], better) for m, better in COMPARE_MEASURES.items()}
    rows = [
        CompareRow(
            school_urn=urn,
            name=school.name if school else None,
            phase=school.phase if school else None,
            pupils=c.pupils,
            figures=c.figures,
            persistent_absence_rate=c.persistent_absence_rate,
            severe_absence_rate=c.severe_absence_rate,
            ranks={m: ranks[m][i] for m in COMPARE_MEASURES},
        )
        for i, (urn, school, c) in enumerate(lines)
    ]
    rows.sort(key=lambda r: (r.ranks[rank_by].position is None, r.ranks[rank_by].position or 0, r.school_urn))
    return CompareTable(scope=scope, period=period, phase=phase, rank_by=rank_by, schools=rows)


async def urns_of_la(session: AsyncSession, la_code: str, phase: str | None = None) -> list[str]:
    """The LA's schools (of one phase, if given)."""
    urns = [s.urn for s in await projections.schools_of_la(session, la_code)]
    if not urns:
        raise NotFound(f"no schools known in LA {la_code}")
    if phase is None:
        return urns
    schools = await projections.school_rows(session, urns)
    return [u for u in urns if u in schools and schools[u].phase == phase]


# --- trusts ---------------------------------------------------------------------------------


async def urns_of_trust(session: AsyncSession, trust_id: str, phase: str | None = None) -> tuple[list[str], str | None]:
    """The trust's schools now (of one phase, if given), and the trust's name."""
    found = await projections.schools_of_trust(session, trust_id)
    if not found:
        raise NotFound(f"no schools known in trust {trust_id}")
    urns = [s.urn for s in found]
    if phase is not None:
        rows = await projections.school_rows(session, urns)
        urns = [u for u in urns if rows[u].phase == phase]
    return urns, found[0].trust_name


async def trust_attendance(
    session: AsyncSession, trust_id: str, period: Period, group_by: CohortAttribute | None, min_possible: int
) -> TrustAttendance:
    """Every school of the trust side by side, each split by `group_by` if given, and the total."""
    urns, name = await urns_of_trust(session, trust_id)
    names = {u: r.name for u, r in (await projections.school_rows(session, urns)).items()}
    lines = []
    for urn in urns:
        found = await queries.school_attendance(session, urn, period, group_by, min_possible)
        lines.append(
            TrustSchool(
                **{k: getattr(found, k) for k in CohortFigures.model_fields},
                school_urn=urn,
                name=names.get(urn),
                groups=found.groups,
            )
        )
    return TrustAttendance(
        trust_id=trust_id, name=name, period=period, group_by=group_by, total=_sum(lines), schools=lines
    )


def _sum(lines: list[TrustSchool]) -> CohortFigures:
    """The schools' figures added up: sessions and pupils (each enrolment once) are additive."""
    f = [line.figures for line in lines]
    figures = AttendanceFigures(
        sum(x.possible_sessions for x in f),
        sum(x.present_sessions for x in f),
        sum(x.approved_educational_activity_sessions for x in f),
        sum(x.authorised_absence_sessions for x in f),
        sum(x.unauthorised_absence_sessions for x in f),
    )
    pupils = sum(line.pupils for line in lines)
    persistent = sum(line.persistent_absence_pupils for line in lines)
    severe = sum(line.severe_absence_pupils for line in lines)
    return CohortFigures(
        group="all",
        pupils=pupils,
        figures=Figures.of(figures),
        persistent_absence_pupils=persistent,
        severe_absence_pupils=severe,
        persistent_absence_rate=_rate(persistent, pupils),
        severe_absence_rate=_rate(severe, pupils),
    )
