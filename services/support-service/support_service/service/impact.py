"""The impact report: which of the school's (or the LA's schools') interventions moved
attendance, by the method in `support_service.domain.impact`. Figures are analytics' weekly
series of every pupil of each school, one call a school."""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from attendance_shared.errors import Unprocessable
from attendance_shared.rules.figures import academic_year_of, academic_year_start
from support_service.clients.upstream import AnalyticsClient
from support_service.domain.impact import (
    METHOD,
    Intervention,
    Measured,
    Series,
    Summary,
    Unmeasured,
    measure,
    summarise,
    week_index,
    year_starts,
)
from support_service.models import plans
from support_service.schemas import ImpactMeasured, ImpactReport, ImpactRow

PLAN = "plan"


def interventions_of(rows: Sequence[Row], start: date, end: date) -> list[Intervention]:
    """Each plan, and each action not dropped, that started in [start, end]: an action starts
    when it was added, or when its plan starts if that is later."""
    found = []
    for plan in rows:
        if start <= plan.starts_on <= end:
            found.append(Intervention(PLAN, plan.school_urn, plan.upn, plan.starts_on, str(plan.case_id)))
        for action in plan.actions:
            if action["status"] == "dropped":
                continue
            began = max(plan.starts_on, date.fromisoformat(action["added_on"]))
            if start <= began <= end:
                found.append(Intervention(action["type"], plan.school_urn, plan.upn, began, str(plan.case_id)))
    return found


async def _school_series(
    analytics: AnalyticsClient, urn: str, start: date, end: date
) -> tuple[list[date], dict[str, Series]]:
    weeks: list[date] = []
    series: dict[str, Series] = {}
    cursor: str | None = None
    while True:
        params = {"from": start.isoformat(), "to": end.isoformat(), "limit": 5000} | (
            {"cursor": cursor} if cursor else {}
        )
        page = await analytics.get(f"/v1/schools/{urn}/pupil-attendance/weekly", params)
        if page is None:
            return weeks, series
        weeks = [date.fromisoformat(w) for w in page["weeks"]]
        for item in page["items"]:
            series[item["upn"]] = Series(item["possible"], item["attended"])
        if not (cursor := page["next_cursor"]):
            return weeks, series


def _measure_school(
    interventions: list[Intervention], weeks: list[date], series: dict[str, Series], n: int, today: date
) -> tuple[list[Measured], dict[str, Unmeasured]]:
    current = week_index(weeks, today)
    starts = year_starts(weeks)
    busy: dict[str, dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for item in interventions:
        first = week_index(weeks, item.started_on)
        busy[item.kind][item.upn].append((first, first + n))
    measured: list[Measured] = []
    unmeasured: dict[str, Unmeasured] = defaultdict(Unmeasured)
    for item in interventions:
        result = measure(
            item,
            weeks=weeks,
            year_start_of=starts,
            series=series,
            same_kind_windows=busy[item.kind],
            n=n,
            current_week=current,
            unmeasured=unmeasured[item.kind],
        )
        if result is not None:
            measured.append(result)
    return measured, unmeasured


async def impact_report(
    session: AsyncSession,
    analytics: AnalyticsClient,
    *,
    urn: str | None = None,
    la_code: str | None = None,
    start: date,
    end: date,
    weeks: int,
    today: date,
    detail: bool = True,
    concurrency: int = 4,
) -> ImpactReport:
    """`detail`: list each measured intervention (a school's report, for its own staff)."""
    if end < start:
        raise Unprocessable.of_field("to", "the period ends before it starts")
    query = select(plans)
    query = query.where(plans.c.school_urn == urn) if urn is not None else query.where(plans.c.la_code == la_code)
    rows = list((await session.execute(query)).all())
    by_school: dict[str, list[Intervention]] = defaultdict(list)
    for item in interventions_of(rows, start, end):
        by_school[item.school_urn].append(item)
    # The weeks of the academic year before the earliest intervention, for its pupils' bands.
    series_start = academic_year_start(academic_year_of(start - timedelta(weeks=weeks + 2)))
    gate = asyncio.Semaphore(concurrency)

    async def one(school: str) -> tuple[list[Measured], dict[str, Unmeasured]]:
        async with gate:
            school_weeks, series = await _school_series(analytics, school, series_start, today)
        return _measure_school(by_school[school], school_weeks, series, weeks, today)

    measured: list[Measured] = []
    unmeasured: dict[str, Unmeasured] = defaultdict(Unmeasured)
    for school_measured, school_unmeasured in await asyncio.gather(*(one(s) for s in sorted(by_school))):
        measured += school_measured
        for kind, counts in school_unmeasured.items():
            unmeasured[kind].too_recent += counts.too_recent
            unmeasured[kind].no_sessions += counts.no_sessions
    kinds = sorted({m.intervention.kind for m in measured} | set(unmeasured), key=lambda k: (k != PLAN, k))
    summaries = [
        summarise(kind, [m for m in measured if m.intervention.kind == kind], unmeasured[kind]) for kind in kinds
    ]
    return ImpactReport(
        school_urn=urn,
        la_code=la_code,
        start=start,
        end=end,
        weeks=weeks,
        method=METHOD,
        rows=[_row(s) for s in summaries],
        interventions=[_measured(m) for m in measured] if urn is not None and detail else [],
    )


def _row(summary: Summary) -> ImpactRow:
    return ImpactRow(**{name: getattr(summary, name) for name in ImpactRow.model_fields})


def _measured(m: Measured) -> ImpactMeasured:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return ImpactMeasured(
        kind=m.intervention.kind,
        upn=m.intervention.upn,
        case_id=m.intervention.case_id,
        started_on=m.intervention.started_on,
        band=m.band,
        before=r(m.before),
        after=r(m.after),
        change=r(m.change),
        comparison_change=r(m.comparison_change),
        comparison_pupils=m.comparison_pupils,
    )
