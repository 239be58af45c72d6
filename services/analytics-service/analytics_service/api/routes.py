"""Routers only: parse, authorise, call a service, shape the response (JSON, or CSV on lists)."""

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from analytics_service.schemas import (
    AbsenceRunPage,
    Benchmarks,
    CohortAttribute,
    FlagPage,
    LAAttendance,
    Patterns,
    PenaltyThresholdPage,
    Period,
    PeriodKind,
    PupilAttendance,
    PupilAttendancePage,
    PupilWeeksPage,
    SchoolAttendance,
    WeeklySeries,
)
from analytics_service.service import queries, views
from attendance_shared import cursors
from attendance_shared.access import Scope, allow
from attendance_shared.api_types import IsoDate, LACodePath, UPNCursor, UPNPath, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.bounds import EARLIEST_DAY, LATEST_DAY
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import CSV_RESPONSE, AcceptHeader, csv_response, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, Unprocessable
from attendance_shared.events import RISK_FLAG_TYPES, RiskFlagType
from attendance_shared.rules.cohorts import Population
from attendance_shared.rules.figures import academic_year_of
from attendance_shared.rules.national_benchmarks import NATIONAL_BENCHMARKS, NationalBenchmark

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["attendance"])
la_router = APIRouter(prefix="/v1/las/{la_code}", responses=PROBLEM_RESPONSES, tags=["local authority"])
reference_router = APIRouter(prefix="/v1/benchmarks", responses=PROBLEM_RESPONSES, tags=["benchmarks"])

From = Annotated[IsoDate | None, Query(alias="from", description="First day (default: start of the academic year)")]
To = Annotated[IsoDate | None, Query(alias="to", description="Last day, inclusive (default: today)")]
PeriodQuery = Annotated[
    PeriodKind | None,
    Query(description="A calendar period holding `on` instead of `from`/`to`: week, half_term, term or year"),
]
On = Annotated[IsoDate | None, Query(description="The day whose `period` is wanted (default: today)")]
Accept = AcceptHeader
# A school's people, its LA and its trust see its figures (la-returns-service too, as a
# service); a parent or social worker sees only the figures of the children they hold.
_SCHOOL_ROLES = (Role.MIS, Role.STAFF, Role.LA, Role.TRUST, Role.ADMIN, Role.SERVICE)
SchoolReader = Annotated[Actor, allow(*_SCHOOL_ROLES, scope=Scope.SCHOOL)]
PupilReader = Annotated[Actor, allow(*_SCHOOL_ROLES, Role.PARENT, Role.SOCIAL_WORKER, scope=Scope.PUPIL)]
LAReader = Annotated[Actor, allow(Role.LA, Role.ADMIN, Role.SERVICE, scope=Scope.LA)]
ReferenceReader = Annotated[Actor, allow(*_SCHOOL_ROLES, scope=Scope.BODY)]


async def _school_period(
    urn: URNPath, session: SessionDep, start: From = None, end: To = None, period: PeriodQuery = None, on: On = None
) -> Period:
    return await queries.resolve_period(
        session, urn, start=start, end=end, kind=period, on=on, today=today_in_england()
    )


# `from`/`to`, or `period` and `on`, resolved against the school's calendar.
SchoolPeriod = Annotated[Period, Depends(_school_period)]


@router.get("/pupils/{upn}/attendance", response_model=PupilAttendance, summary="One pupil's figures and flags")
async def pupil_attendance(
    request: Request,
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    period: SchoolPeriod,
) -> PupilAttendance:
    rules = request.app.state.settings.flag_rules()
    answer = await queries.pupil_attendance(session, urn, upn, period, rules)
    return answer.model_copy(update={"explained": await views.explained(session, urn, upn, period, answer.figures)})


@router.get(
    "/pupils/{upn}/attendance/weekly", response_model=WeeklySeries, responses=CSV_RESPONSE, summary="A pupil by week"
)
async def pupil_weekly(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    period: SchoolPeriod,
    accept: Accept = None,
) -> WeeklySeries | StreamingResponse:
    series = await queries.weekly_series(session, urn, period, upn)
    return csv_response(series.weeks, f"weekly-{urn}-{upn}.csv") if wants_csv(accept) else series


@router.get("/pupils/{upn}/attendance/patterns", response_model=Patterns, summary="A pupil's absence by weekday")
async def pupil_patterns(
    urn: URNPath,
    upn: UPNPath,
    session: SessionDep,
    actor: PupilReader,
    period: SchoolPeriod,
) -> Patterns:
    return await queries.session_patterns(session, urn, period, upn)


@router.get("/attendance", response_model=SchoolAttendance, responses=CSV_RESPONSE, summary="School figures")
async def school_attendance(
    request: Request,
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    group_by: Annotated[CohortAttribute | None, Query(description="Split by a cohort attribute")] = None,
    population: Annotated[
        Population,
        Query(description="on_roll (everyone on the register) or compulsory_school_age (as DfE statistics count)"),
    ] = "on_roll",
    accept: Accept = None,
) -> SchoolAttendance | StreamingResponse:
    summary = await queries.school_attendance(
        session,
        urn,
        period,
        group_by,
        request.app.state.settings.min_possible_sessions_for_flags,
        population=population,
    )
    if wants_csv(accept):
        return csv_response(summary.groups or [summary], f"attendance-{urn}.csv")
    return summary


@router.get("/attendance/weekly", response_model=WeeklySeries, responses=CSV_RESPONSE, summary="School by week")
async def school_weekly(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    accept: Accept = None,
) -> WeeklySeries | StreamingResponse:
    series = await queries.weekly_series(session, urn, period)
    return csv_response(series.weeks, f"weekly-{urn}.csv") if wants_csv(accept) else series


@router.get("/attendance/patterns", response_model=Patterns, responses=CSV_RESPONSE, summary="Absence by weekday")
async def school_patterns(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    accept: Accept = None,
) -> Patterns | StreamingResponse:
    found = await queries.session_patterns(session, urn, period)
    return csv_response(found.by_session, f"patterns-{urn}.csv") if wants_csv(accept) else found


@router.get(
    "/pupil-attendance", response_model=PupilAttendancePage, responses=CSV_RESPONSE, summary="Every pupil's figures"
)
async def pupils_attendance(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    habits: Annotated[
        bool, Query(description="Add each pupil's absent sessions Monday to Friday and lateness on recent school days")
    ] = False,
    accept: Accept = None,
) -> Response:
    page = await queries.pupils_attendance(session, urn, period, cursor=cursor, limit=limit, habits=habits)
    if wants_csv(accept):
        return csv_response(page["items"], f"pupil-attendance-{urn}.csv")
    # Already in the response model's shape; serialised directly, as validating a page of
    # thousands of pupils again would cost more than working out their figures.
    return Response(orjson.dumps(page), media_type="application/json")


@router.get(
    "/pupil-attendance/weekly",
    response_model=PupilWeeksPage,
    summary="Every pupil's possible and attended sessions in each school week (for comparing windows of weeks)",
)
async def pupils_by_week(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> Response:
    page = await queries.pupils_by_week(session, urn, period, cursor=cursor, limit=limit)
    # Built in the response model's shape already: a school's year is 100,000 numbers.
    return Response(orjson.dumps(page), media_type="application/json")


@router.get(
    "/absence-runs",
    response_model=AbsenceRunPage,
    responses=CSV_RESPONSE,
    summary="Pupils absent 10 school days running, or missing 15 through sickness",
)
async def absence_runs(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    runs: Annotated[
        Literal["continuous_unauthorised", "sickness"],
        Query(
            description="`continuous_unauthorised`: runs of 10 or more school days absent without authorisation "
            "(reg 13 attendance return; 20 days is deletion ground 9(1)(i)). `sickness`: spells of illness and the "
            "school year's illness taken together, each once it reaches 15 school days (reg 13 sickness return)"
        ),
    ],
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Pupils per page")] = 500,
    accept: Accept = None,
) -> AbsenceRunPage | StreamingResponse:
    """Every run that reached its threshold by the period's end and reaches into the period, by
    the one rule the risk flags use: an unmarked session neither ends nor extends a run, and a
    run of absence carries over holidays and the summer."""
    page = await queries.absence_runs(session, urn, period, runs, cursor=cursor, limit=limit)
    return csv_response(page.items, f"absence-runs-{urn}.csv") if wants_csv(accept) else page


AcademicYear = Annotated[
    int | None,
    Query(
        ge=EARLIEST_DAY.year,
        le=LATEST_DAY.year,
        description="The year it starts (2026 for 2026/27); default the current one. A flag of an earlier "
        "year stays active (its year is over, so it can never clear): ask for it by year.",
    ),
]


def _flag_cursor(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None

    def parse(text: str) -> tuple[str, str]:
        upn, _, flag = text.partition(":")
        if len(upn) != 13 or flag not in RISK_FLAG_TYPES:
            raise ValueError("not a flag cursor")
        return upn, flag

    return cursors.decode_cursor(value, parse)


@router.get("/flags", response_model=FlagPage, responses=CSV_RESPONSE, summary="Pupils with an active risk flag")
async def flags(
    request: Request,
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    type: Annotated[RiskFlagType | None, Query()] = None,  # noqa: A002
    year_group: Annotated[str | None, Query(max_length=4, pattern=r"^[A-Za-z0-9]+$")] = None,
    academic_year: AcademicYear = None,
    cursor: Annotated[str | None, Query(max_length=80, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    accept: Accept = None,
) -> FlagPage | StreamingResponse:
    year = academic_year if academic_year is not None else academic_year_of(today_in_england())
    page = await queries.flagged(
        session,
        urn,
        rules=request.app.state.settings.flag_rules(),
        academic_year=year,
        flag=type,
        year_group=year_group,
        cursor=_flag_cursor(cursor),
        limit=limit,
    )
    return csv_response(page.items, f"flags-{urn}.csv") if wants_csv(accept) else page


@router.get(
    "/penalty-thresholds",
    response_model=PenaltyThresholdPage,
    responses=CSV_RESPONSE,
    summary="Pupils who reached the penalty-notice threshold, and on which days",
)
async def penalty_thresholds(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    academic_year: AcademicYear = None,
    cursor: UPNCursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    accept: Accept = None,
) -> PenaltyThresholdPage | StreamingResponse:
    """Every pupil whose G, N, O and U sessions in the rolling 10 school weeks reached 10 this
    year, with each day it happened: the framework says a notice must be considered then, so a
    day stays listed after the count falls back (the flag clears; this does not)."""
    year = academic_year if academic_year is not None else academic_year_of(today_in_england())
    page = await queries.penalty_thresholds(session, urn, academic_year=year, cursor=cursor, limit=limit)
    return csv_response(page.items, f"penalty-thresholds-{urn}.csv") if wants_csv(accept) else page


@router.get("/benchmarks", response_model=Benchmarks, summary="The school against its LA and England")
async def school_benchmarks(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
) -> Benchmarks:
    return await queries.benchmarks(session, urn, period)


async def _la_period(
    session: SessionDep,
    start: From = None,
    end: To = None,
    period: Annotated[
        PeriodKind | None, Query(description="week or year holding `on` (terms differ by school)")
    ] = None,
    on: On = None,
) -> Period:
    if period in ("term", "half_term"):
        raise Unprocessable(
            "terms differ between an LA's schools: give `from` and `to`",
            errors=[{"field": "period", "message": "use week, year or a date range"}],
        )
    return await queries.resolve_period(session, "", start=start, end=end, kind=period, on=on, today=today_in_england())


# `from`/`to`, or a week or year holding `on`: the same dates for every school of an LA.
LAPeriod = Annotated[Period, Depends(_la_period)]


@la_router.get("/attendance", response_model=LAAttendance, responses=CSV_RESPONSE, summary="An LA's schools")
async def la_attendance(
    la_code: LACodePath, session: SessionDep, actor: LAReader, period: LAPeriod, accept: Accept = None
) -> LAAttendance | StreamingResponse:
    found = await queries.la_attendance(session, la_code, period)
    return csv_response(found.schools, f"attendance-la-{la_code}.csv") if wants_csv(accept) else found


@reference_router.get("/national", response_model=list[NationalBenchmark], summary="England's published figures")
async def national(actor: ReferenceReader) -> list[NationalBenchmark]:
    return list(NATIONAL_BENCHMARKS)
