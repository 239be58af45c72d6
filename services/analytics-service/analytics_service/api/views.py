"""Routes of the views leaders, governors and LA officers use: bands, spells, reasons, months,
year on year, compare tables and tiers. Parse, authorise, call `service.views`, shape."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from analytics_service.api.routes import LAPeriod, LAReader, On, SchoolPeriod, SchoolReader
from analytics_service.repository import projections
from analytics_service.schemas import (
    AbsenceBands,
    AbsenceReasons,
    BandPupilPage,
    CohortAttribute,
    CompareTable,
    MonthlySeries,
    SpellPage,
    TiersIn,
    TiersOut,
    TrustAttendance,
    YearOnYear,
)
from analytics_service.service import views
from attendance_shared import cursors
from attendance_shared.access import Scope, allow
from attendance_shared.api_types import LACodePath, TrustPath, UPNCursor, URNPath
from attendance_shared.auth import Actor, Role
from attendance_shared.clock import today_in_england
from attendance_shared.csv_export import CSV_RESPONSE, AcceptHeader, csv_response, wants_csv
from attendance_shared.db import SessionDep
from attendance_shared.errors import PROBLEM_RESPONSES, Unprocessable
from attendance_shared.events import SchoolPhase
from attendance_shared.rules.bands import BAND_WIDTHS, DEFAULT_BAND_WIDTH, band_of_key, bands

router = APIRouter(prefix="/v1/schools/{urn}", responses=PROBLEM_RESPONSES, tags=["leaders and governors"])
la_router = APIRouter(prefix="/v1/las/{la_code}", responses=PROBLEM_RESPONSES, tags=["local authority"])
trust_router = APIRouter(prefix="/v1/trusts/{trust_id}", responses=PROBLEM_RESPONSES, tags=["trusts"])

Accept = AcceptHeader
TierWriter = Annotated[Actor, allow(Role.MIS, Role.STAFF, Role.ADMIN, scope=Scope.SCHOOL)]
LATierWriter = Annotated[Actor, allow(Role.LA, Role.ADMIN, scope=Scope.LA)]
TrustReader = Annotated[Actor, allow(Role.TRUST, Role.ADMIN, Role.SERVICE, scope=Scope.TRUST)]
Phase = Annotated[SchoolPhase | None, Query(description="Only schools of this phase")]
GroupBy = Annotated[CohortAttribute | None, Query(description="Split by a cohort attribute (as at the period's end)")]
RankBy = Annotated[
    Literal[tuple(views.COMPARE_MEASURES)],  # type: ignore[valid-type]
    Query(description="The measure the table is ordered by"),
]


def _width(width: int) -> int:
    if width not in BAND_WIDTHS:
        raise Unprocessable(
            f"`width` must be one of {', '.join(map(str, BAND_WIDTHS))}",
            errors=[{"location": ["query", "width"], "message": f"one of {list(BAND_WIDTHS)}", "type": "enum"}],
        )
    return width


Width = Annotated[int, Query(ge=1, le=50, description=f"Percentage points per band: one of {list(BAND_WIDTHS)}")]
BandKey = Annotated[str, Query(max_length=8, description="A band's name from the bands answer: `10-15`, `50+`")]
BandCursor = Annotated[str | None, Query(max_length=80, description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=5000)]


def _band(key: str, width: int) -> int:
    index = band_of_key(key, width)
    if index is None:
        names = ", ".join(b.key for b in bands(width))
        raise Unprocessable(
            f"no band `{key}` at width {width}",
            errors=[{"location": ["query", "band"], "message": f"one of {names}", "type": "enum"}],
        )
    return index


async def _bands(session, urns, period, width, group_by, accept, filename) -> AbsenceBands | StreamingResponse:
    found = await views.absence_bands(session, urns, period, _width(width), group_by)
    if wants_csv(accept):
        rows = [{"group": "all", **b.model_dump()} for b in found.bands]
        rows += [{"group": g.group, **b.model_dump()} for g in found.groups for b in g.bands]
        return csv_response(rows, filename)
    return found


async def _band_pupils(session, urns, period, width, band, cursor, limit, accept, filename):
    width = _width(width)
    page = await views.band_pupils(
        session,
        urns,
        period,
        width,
        _band(band, width),
        cursor=cursors.decode_cursor(cursor, views.band_cursor) if cursor else None,
        limit=limit,
    )
    return csv_response(page.items, filename) if wants_csv(accept) else page


@router.get(
    "/absence-bands",
    response_model=AbsenceBands,
    responses=CSV_RESPONSE,
    summary="Pupils in each 5% band of overall absence (DfE bandings: 20 possible sessions or more)",
)
async def school_bands(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    width: Width = DEFAULT_BAND_WIDTH,
    group_by: GroupBy = None,
    accept: Accept = None,
) -> AbsenceBands | StreamingResponse:
    return await _bands(session, [urn], period, width, group_by, accept, f"absence-bands-{urn}.csv")


@router.get(
    "/absence-bands/pupils",
    response_model=BandPupilPage,
    responses=CSV_RESPONSE,
    summary="The pupils of one band, by UPN, with their tier",
)
async def school_band_pupils(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    band: BandKey,
    width: Width = DEFAULT_BAND_WIDTH,
    cursor: BandCursor = None,
    limit: Limit = 500,
    accept: Accept = None,
) -> BandPupilPage | StreamingResponse:
    return await _band_pupils(
        session, [urn], period, width, band, cursor, limit, accept, f"absence-band-{urn}-{band}.csv"
    )


@router.get(
    "/absence-spells",
    response_model=SpellPage,
    responses=CSV_RESPONSE,
    summary="Each pupil's spells of absence and persistent-absence risk from rate and spells together",
)
async def school_spells(
    urn: URNPath,
    session: SessionDep,
    actor: SchoolReader,
    period: SchoolPeriod,
    risk: Annotated[
        Literal["unknown", "low", "moderate", "high", "persistent"] | None, Query(description="Only this risk")
    ] = None,
    cursor: UPNCursor = None,
    limit: Limit = 500,
    accept: Accept = None,
) -> SpellPage | StreamingResponse:
    page = await views.absence_spells(session, urn, period, risk=risk, cursor=cursor, limit=limit)
    return csv_response(page.items, f"absence-spells-{urn}.csv") if wants_csv(accept) else page


@router.get(
    "/absence-reasons",
    response_model=AbsenceReasons,
    responses=CSV_RESPONSE,
    summary="Absence by reason as rates of possible sessions, beside England's where published",
)
async def school_reasons(
    urn: URNPath, session: SessionDep, actor: SchoolReader, period: SchoolPeriod, accept: Accept = None
) -> AbsenceReasons | StreamingResponse:
    school = (await projections.school_rows(session, [urn])).get(urn)
    found = await views.absence_reasons(session, [urn], period, school.phase if school else None)
    return csv_response(found.reasons, f"absence-reasons-{urn}.csv") if wants_csv(accept) else found


@router.get(
    "/attendance/monthly", response_model=MonthlySeries, responses=CSV_RESPONSE, summary="School figures by month"
)
async def school_monthly(
    urn: URNPath, session: SessionDep, actor: SchoolReader, period: SchoolPeriod, accept: Accept = None
) -> MonthlySeries | StreamingResponse:
    found = await views.monthly(session, urn, period)
    return csv_response(found.months, f"monthly-{urn}.csv") if wants_csv(accept) else found


@router.get(
    "/attendance/year-on-year",
    response_model=YearOnYear,
    summary="This year to date against last year to the same school day",
)
async def school_year_on_year(
    request: Request, urn: URNPath, session: SessionDep, actor: SchoolReader, on: On = None
) -> YearOnYear:
    min_possible = request.app.state.settings.min_possible_sessions_for_flags
    return await views.year_on_year(session, urn, on or today_in_england(), min_possible)


@router.get("/attendance-tiers", response_model=TiersOut, summary="The tiers that colour this school's lists")
async def get_school_tiers(urn: URNPath, session: SessionDep, actor: SchoolReader) -> TiersOut:
    return await views.tiers_of_school(session, urn)


@router.put("/attendance-tiers", response_model=TiersOut, summary="Set the school's own tiers, best first")
async def put_school_tiers(urn: URNPath, body: TiersIn, session: SessionDep, actor: TierWriter) -> TiersOut:
    return await views.put_tiers(session, "school", urn, body)


@router.delete(
    "/attendance-tiers",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Drop the school's own tiers: its LA's (or the defaults) apply again",
)
async def delete_school_tiers(urn: URNPath, session: SessionDep, actor: TierWriter) -> None:
    await views.delete_tiers(session, "school", urn)


@la_router.get(
    "/absence-bands",
    response_model=AbsenceBands,
    responses=CSV_RESPONSE,
    summary="The LA's pupils in each band of overall absence",
)
async def la_bands(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAReader,
    period: LAPeriod,
    width: Width = DEFAULT_BAND_WIDTH,
    group_by: GroupBy = None,
    phase: Phase = None,
    accept: Accept = None,
) -> AbsenceBands | StreamingResponse:
    urns = await views.urns_of_la(session, la_code, phase)
    return await _bands(session, urns, period, width, group_by, accept, f"absence-bands-la-{la_code}.csv")


@la_router.get(
    "/absence-bands/pupils",
    response_model=BandPupilPage,
    responses=CSV_RESPONSE,
    summary="The LA's pupils of one band, by school and UPN",
)
async def la_band_pupils(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAReader,
    period: LAPeriod,
    band: BandKey,
    width: Width = DEFAULT_BAND_WIDTH,
    phase: Phase = None,
    cursor: BandCursor = None,
    limit: Limit = 500,
    accept: Accept = None,
) -> BandPupilPage | StreamingResponse:
    urns = await views.urns_of_la(session, la_code, phase)
    return await _band_pupils(
        session, urns, period, width, band, cursor, limit, accept, f"absence-band-la-{la_code}-{band}.csv"
    )


@la_router.get(
    "/compare",
    response_model=CompareTable,
    responses=CSV_RESPONSE,
    summary="The LA's schools ranked on attendance, persistent, severe and unauthorised absence, by phase",
)
async def la_compare(
    la_code: LACodePath,
    session: SessionDep,
    actor: LAReader,
    period: LAPeriod,
    phase: Phase = None,
    rank_by: RankBy = "attendance_rate",
    accept: Accept = None,
) -> CompareTable | StreamingResponse:
    urns = await views.urns_of_la(session, la_code, phase)
    table = await views.compare(session, f"la:{la_code}", urns, period, phase, rank_by)
    return csv_response(table.schools, f"compare-la-{la_code}.csv") if wants_csv(accept) else table


@la_router.get(
    "/absence-reasons",
    response_model=AbsenceReasons,
    responses=CSV_RESPONSE,
    summary="The LA's absence by reason as rates, beside England's where published",
)
async def la_reasons(
    la_code: LACodePath, session: SessionDep, actor: LAReader, period: LAPeriod, phase: Phase = None,
    accept: Accept = None,
) -> AbsenceReasons | StreamingResponse:  # fmt: skip
    found = await views.absence_reasons(session, await views.urns_of_la(session, la_code, phase), period, phase)
    return csv_response(found.reasons, f"absence-reasons-la-{la_code}.csv") if wants_csv(accept) else found


@la_router.get("/attendance-tiers", response_model=TiersOut, summary="The tiers the LA's schools use by default")
async def get_la_tiers(la_code: LACodePath, session: SessionDep, actor: LAReader) -> TiersOut:
    return await views.tiers_of_la(session, la_code)


@la_router.put("/attendance-tiers", response_model=TiersOut, summary="Set the LA's tiers, best first")
async def put_la_tiers(la_code: LACodePath, body: TiersIn, session: SessionDep, actor: LATierWriter) -> TiersOut:
    return await views.put_tiers(session, "la", la_code, body)


@trust_router.get(
    "/attendance",
    response_model=TrustAttendance,
    responses=CSV_RESPONSE,
    summary="Every school of the trust side by side, split by any cohort, and the trust's total",
)
async def trust_attendance(
    request: Request,
    trust_id: TrustPath,
    session: SessionDep,
    actor: TrustReader,
    period: LAPeriod,
    group_by: GroupBy = None,
    accept: Accept = None,
) -> TrustAttendance | StreamingResponse:
    min_possible = request.app.state.settings.min_possible_sessions_for_flags
    found = await views.trust_attendance(session, trust_id, period, group_by, min_possible)
    if wants_csv(accept):
        if group_by is None:
            rows = [school.model_dump(exclude={"groups"}) for school in found.schools]
        else:
            rows = [{"school_urn": school.school_urn, "name": school.name, **group.model_dump()}
                    for school in found.schools for group in school.groups]  # fmt: skip
        return csv_response(rows, f"attendance-trust-{trust_id}.csv")
    return found


@trust_router.get(
    "/compare",
    response_model=CompareTable,
    responses=CSV_RESPONSE,
    summary="The trust's schools ranked on attendance, persistent, severe and unauthorised absence, by phase",
)
async def trust_compare(
    trust_id: TrustPath,
    session: SessionDep,
    actor: TrustReader,
    period: LAPeriod,
    phase: Phase = None,
    rank_by: RankBy = "attendance_rate",
    accept: Accept = None,
) -> CompareTable | StreamingResponse:
    urns, _ = await views.urns_of_trust(session, trust_id, phase)
    table = await views.compare(session, f"trust:{trust_id}", urns, period, phase, rank_by)
    return csv_response(table.schools, f"compare-trust-{trust_id}.csv") if wants_csv(accept) else table


@trust_router.get(
    "/absence-bands",
    response_model=AbsenceBands,
    responses=CSV_RESPONSE,
    summary="The trust's pupils in each band of overall absence",
)
async def trust_bands(
    trust_id: TrustPath,
    session: SessionDep,
    actor: TrustReader,
    period: LAPeriod,
    width: Width = DEFAULT_BAND_WIDTH,
    group_by: GroupBy = None,
    phase: Phase = None,
    accept: Accept = None,
) -> AbsenceBands | StreamingResponse:
    urns, _ = await views.urns_of_trust(session, trust_id, phase)
    return await _bands(session, urns, period, width, group_by, accept, f"absence-bands-trust-{trust_id}.csv")
