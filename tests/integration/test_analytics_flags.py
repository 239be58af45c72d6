"""analytics' flag list, read as a working list: one academic year at a time."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics_service.app import create_app
from analytics_service.consumers import events as analytics_events
from analytics_service.consumers.events import AnalyticsHandler
from analytics_service.domain.flags import FlagRules
from analytics_service.settings import Settings
from attendance_shared.auth import Role
from attendance_shared.clock import today_in_england
from attendance_shared.db import make_sessionmaker
from attendance_shared.events import (
    Event,
    MarkAmendedV1,
    PartTimeTimetableSetV1,
    PupilDeletedV1,
    RegisterMarkedV1,
    SchoolCalendarSetV1,
    make_event,
    pupil_key,
)
from attendance_shared.rules.figures import academic_year_of
from tests.factories import SAMPLE_PUPIL, make_upn, mark_record
from tests.helpers import app_client, bearer

pytestmark = pytest.mark.integration

URN = "100001"
THIS_YEAR = academic_year_of(today_in_england())
A, B = make_upn(serial=801), make_upn(serial=802)


@pytest.fixture
async def analytics(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:1")
    async with app_client(create_app(settings), bearer(Role.ADMIN)) as client:
        yield client


async def flag(engine: AsyncEngine, upn: str, year: int, name: str = "persistent_absence") -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO analytics.risk_flags (school_urn, upn, academic_year, flag, active, "
                "possible_sessions, absent_sessions, overall_absence_rate) "
                "VALUES (:urn, :upn, :year, :flag, true, 100, 12, 12.0)"
            ),
            {"urn": URN, "upn": upn, "year": year, "flag": name},
        )


async def test_the_flag_list_is_this_years_unless_another_year_is_asked_for(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # Last year's flags stay active (a year that is over can never clear them).
    await flag(engine, A, THIS_YEAR - 1)
    await flag(engine, A, THIS_YEAR)
    await flag(engine, B, THIS_YEAR - 1, "severe_absence")
    current = (await analytics.get(f"/v1/schools/{URN}/flags")).json()
    assert current["academic_year"] == THIS_YEAR
    assert [(f["upn"], f["flag"], f["academic_year"]) for f in current["items"]] == [
        (A, "persistent_absence", THIS_YEAR)
    ]
    last = (await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": THIS_YEAR - 1})).json()
    assert last["academic_year"] == THIS_YEAR - 1
    assert sorted((f["upn"], f["flag"]) for f in last["items"]) == [(A, "persistent_absence"), (B, "severe_absence")]
    # One row of a pupil's flag a page: with two years in one list, the cursor skipped one.
    first = (
        await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": THIS_YEAR - 1, "limit": 1})
    ).json()
    rest = (
        await analytics.get(
            f"/v1/schools/{URN}/flags", params={"academic_year": THIS_YEAR - 1, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [f["upn"] for f in first["items"] + rest["items"]] == [A, B] and rest["next_cursor"] is None
    refused = await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": 1900})
    assert refused.status_code == 422


async def test_a_late_joiners_withheld_rate_flag_is_named_on_their_answer(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Sixteen possible sessions, four missed: 25% absent, under the 20 sessions rate flags
    wait for. No flag yet, but the answer says which flag is withheld and why."""
    monday = date(2026, 9, 7)
    days = [monday + timedelta(days=d) for d in (0, 1, 2, 3, 4, 7, 8, 9)]  # eight weekdays
    # Ill (I) both sessions of the first two days, present the rest.
    marks = [
        (day, session, "I" if i < 2 else ("/" if session == "am" else "\\"))
        for i, day in enumerate(days)
        for session in ("am", "pm")
    ]
    events = [mark_record(A, day, session, code) for day, session, code in marks]
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, events)
    period = {"from": str(days[0]), "to": str(days[-1])}
    answer = (await analytics.get(f"/v1/schools/{URN}/pupils/{A}/attendance", params=period)).json()
    assert (answer["figures"]["possible_sessions"], answer["flags"]) == (16, [])
    withheld = answer["flags_withheld"]
    assert (withheld["flags"], withheld["possible_sessions"], withheld["needed_possible_sessions"]) == (
        ["persistent_absence"],
        16,
        20,
    )
    assert "20 possible sessions" in withheld["reason"]


async def test_a_run_over_the_summer_and_an_unmarked_day_give_the_flag_and_the_return_one_answer(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 22: la-returns counted a session left unmarked as attended and restarted runs in
    September, where the flag skipped the one and carried the other over. Now the returns read
    analytics' `absence-runs`, judged by the same rule as the flag: both say 11 days from July."""
    july = [date(2025, 7, d) for d in (14, 15, 16, 17, 18, 21)]
    september = [date(2025, 9, d) for d in (1, 2, 3, 4, 5, 8)]
    unmarked = september[2]  # the pupil was left off both registers that day
    events = [
        mark_record(A, day, session, "O") for day in july + september if day != unmarked for session in ("am", "pm")
    ]
    events += [mark_record(B, day, session, "/") for day in july + september for session in ("am", "pm")]
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, events)
    answer = (
        await analytics.get(
            f"/v1/schools/{URN}/pupils/{A}/attendance", params={"from": "2025-09-01", "to": "2025-09-08"}
        )
    ).json()
    flag = next(f for f in answer["flags"] if f["flag"] == "continuous_absence_10_days")
    assert (flag["evidence_count"], flag["evidence_since"]) == (11, "2025-07-14")
    runs = (
        await analytics.get(
            f"/v1/schools/{URN}/absence-runs",
            params={"from": "2025-09-01", "to": "2025-09-08", "runs": "continuous_unauthorised"},
        )
    ).json()
    assert [(r["upn"], r["start"], r["end"], r["school_days"], r["reached_threshold_on"], r["ongoing"])
            for r in runs["items"]] == [(A, "2025-07-14", "2025-09-08", 11, "2025-09-05", True)]  # fmt: skip
    csv_answer = await analytics.get(
        f"/v1/schools/{URN}/absence-runs",
        params={"from": "2025-09-01", "to": "2025-09-08", "runs": "continuous_unauthorised"},
        headers={"Accept": "text/csv"},
    )
    assert csv_answer.text.splitlines()[1].startswith(f"{A},continuous_unauthorised,2025-07-14,")


async def test_illness_one_day_in_two_is_returned_as_cumulative_and_flagged(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Reg 13 asks for 15 school days of sickness, consecutive or cumulative; issue 22 found
    pupils ill in a scattered pattern flagged and left off the return."""
    days = [
        date(2025, 9, 1) + timedelta(days=d) for d in range(60) if (date(2025, 9, 1) + timedelta(days=d)).weekday() < 5
    ]
    events = [
        mark_record(A, day, session, "I" if i % 2 == 0 else "/")
        for i, day in enumerate(days[:32])
        for session in ("am", "pm")
    ]
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, events)
    period = {"from": "2025-09-01", "to": str(days[31])}
    answer = (await analytics.get(f"/v1/schools/{URN}/pupils/{A}/attendance", params=period)).json()
    assert "long_sickness" in {f["flag"] for f in answer["flags"]}
    runs = (await analytics.get(f"/v1/schools/{URN}/absence-runs", params={**period, "runs": "sickness"})).json()
    found = [(r["qualified_by"], r["start"], r["end"], r["school_days"], r["sessions"], r["reached_threshold_on"])
             for r in runs["items"]]  # fmt: skip
    assert found == [("sickness_cumulative", "2025-09-01", str(days[30]), 16, 32, str(days[28]))]


async def test_a_flag_row_shows_the_day_it_was_raised_and_today_beside_it(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 22: a working list showed "10 sessions to 26 Nov" while the pupil had 44 by
    19 Dec. A row keeps what the flag was raised with, and `today` has the figures now."""
    calendar_days = (date(2025, 9, 1) + timedelta(days=d) for d in range(60))
    days = [day for day in calendar_days if day.weekday() < 5][:30]

    def marks(upn: str, span: list[date], absent: set[date]) -> list:
        return [mark_record(upn, d, s, "O" if d in absent else "/") for d in span for s in ("am", "pm")]

    handler = AnalyticsHandler(rules=FlagRules())
    sessionmaker = make_sessionmaker(engine)
    for span, absent in ((days[:10], days[:2]), (days[10:20], days[10:14]), (days[20:], days[20:22])):
        async with sessionmaker.begin() as session:
            await handler(session, marks(A, span, set(absent)))
    listed = (await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": 2025})).json()["items"]
    rows = {f["flag"]: f for f in listed}
    persistent, penalty = rows["persistent_absence"], rows["penalty_notice_threshold"]
    # Raised after the first ten days (4 of 20 sessions missed), and still due on all thirty.
    assert (persistent["as_of"], persistent["possible_sessions"], persistent["absent_sessions"]) == (
        str(days[9]),
        20,
        4,
    )
    assert persistent["today"] == {
        "possible_sessions": 60,
        "absent_sessions": 16,
        "overall_absence_rate": 26.67,
        "still_due": True,
        "evidence_count": None,
        "evidence_unit": None,
        "evidence_since": None,
        "evidence_until": None,
        "evidence_reached_on": None,
    }
    # Reached on day 13 (the tenth session), raised at 12 sessions with day 20's batch; by
    # day 30 the window holds 16, and the day it was reached is the same.
    assert (penalty["evidence_count"], penalty["evidence_until"], penalty["evidence_reached_on"]) == (
        12,
        str(days[19]),
        str(days[12]),
    )
    today = penalty["today"]
    assert (
        today["evidence_count"],
        today["evidence_since"],
        today["evidence_until"],
        today["evidence_reached_on"],
    ) == (
        16,
        str(days[0]),
        str(days[29]),
        str(days[12]),
    )
    spreadsheet = await analytics.get(
        f"/v1/schools/{URN}/flags", params={"academic_year": 2025}, headers={"Accept": "text/csv"}
    )
    assert "today.possible_sessions" in spreadsheet.text.splitlines()[0]


async def test_the_days_the_penalty_threshold_was_reached_outlive_the_flag(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 22: the flag looks at the 10 school weeks ending with the latest register, so a
    pupil who reached 10 sessions in September and stopped was unflagged by December with
    nothing to say a notice should have been considered."""
    calendar_days = (date(2025, 9, 1) + timedelta(days=d) for d in range(120))
    days = [day for day in calendar_days if day.weekday() < 5][:75]
    events = [
        mark_record(A, day, session, "N" if 5 <= i < 10 else "/")
        for i, day in enumerate(days)
        for session in ("am", "pm")
    ]
    handler = AnalyticsHandler(rules=FlagRules())
    async with make_sessionmaker(engine).begin() as session:
        await handler(session, events[:20])  # to day 10: the threshold is reached on day 10
        await handler(session, events[20:])
    async with engine.connect() as conn:
        raised = (
            (
                await conn.execute(
                    text(
                        "SELECT convert_from(envelope, 'UTF8') FROM analytics.outbox WHERE event_type ILIKE '%raised%'"
                        " AND convert_from(envelope, 'UTF8') LIKE '%penalty_notice_threshold%'"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(raised) == 1 and f'"reached_on":"{days[9]}"' in raised[0]
    answer = (await analytics.get(f"/v1/schools/{URN}/pupils/{A}/attendance", params={"to": str(days[-1])})).json()
    assert "penalty_notice_threshold" not in {f["flag"] for f in answer["flags"]}  # ten school weeks on
    assert answer["penalty_threshold_reached_on"] == [str(days[9])]
    listed = (await analytics.get(f"/v1/schools/{URN}/penalty-thresholds", params={"academic_year": 2025})).json()
    assert listed["items"] == [{"upn": A, "reached_on": [str(days[9])], "sessions_now": 0, "over_now": False}]
    spreadsheet = await analytics.get(
        f"/v1/schools/{URN}/penalty-thresholds", params={"academic_year": 2025}, headers={"Accept": "text/csv"}
    )
    assert spreadsheet.text.splitlines()[1] == f"{A},{days[9]},0,False"


async def test_two_stays_in_one_year_are_two_enrolments_with_their_own_figures(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 22: a pupil deleted and admitted again keeps each stay's figures; the DfE counts
    enrolments, so persistent absence is judged for each stay on its own sessions."""

    def weekdays(first: date) -> list[date]:
        return [first + timedelta(days=d) for d in range(14) if (first + timedelta(days=d)).weekday() < 5]

    first_stay, second_stay = weekdays(date(2025, 9, 1)), weekdays(date(2025, 10, 6))

    def pupil_event(data) -> tuple[str, Event]:
        return "attendance.pupils.v1", make_event(data, source="/test", subject=pupil_key(URN, A))

    admitted = SAMPLE_PUPIL.model_copy(update={"upn": A, "admission_date": date(2025, 9, 1)})
    events = [
        pupil_event(admitted),
        pupil_event(PupilDeletedV1(school_urn=URN, la_code="201", upn=A, left_on=first_stay[-1], ground="g")),
        pupil_event(admitted.model_copy(update={"admission_date": second_stay[0]})),
    ]
    events += [mark_record(A, d, s, "O" if i < 4 else "/") for i, d in enumerate(first_stay) for s in ("am", "pm")]
    events += [mark_record(A, d, s, "/") for d in second_stay for s in ("am", "pm")]
    async with make_sessionmaker(engine).begin() as session:
        await AnalyticsHandler(rules=FlagRules())(session, events)
    period = {"from": "2025-09-01", "to": str(second_stay[-1])}
    listed = (await analytics.get(f"/v1/schools/{URN}/pupil-attendance", params=period)).json()["items"]
    assert [(i["upn"], i["admitted_on"], i["figures"]["possible_sessions"], i["figures"]["persistent_absence"])
            for i in listed] == [(A, "2025-09-01", 20, True), (A, str(second_stay[0]), 20, False)]  # fmt: skip
    school = (await analytics.get(f"/v1/schools/{URN}/attendance", params=period)).json()
    assert (school["pupils"], school["persistent_absence_pupils"]) == (2, 1)
    # The pupil's own answer covers both stays; the gap between them holds no session.
    pupil = (await analytics.get(f"/v1/schools/{URN}/pupils/{A}/attendance", params=period)).json()
    assert pupil["figures"]["possible_sessions"] == 40


async def test_an_n_left_in_july_stays_overdue_in_november(analytics: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """Issue 22: the register's list counted July's standing N in the autumn, the flag did
    not. In November the penalty window no longer reaches back, so the consumer finds last
    year's row through the years that hold an N."""
    calendars = [
        SchoolCalendarSetV1(
            school_urn=URN, la_code="201", academic_year=2025,
            terms=({"name": "summer", "start": date(2026, 4, 13), "end": date(2026, 7, 17)},),
        ),
        SchoolCalendarSetV1(
            school_urn=URN, la_code="201", academic_year=2026,
            terms=({"name": "autumn", "start": date(2026, 9, 3), "end": date(2026, 12, 18)},),
        ),
    ]  # fmt: skip
    events = [("attendance.schools.v1", make_event(c, source="/test", subject=URN)) for c in calendars]
    july = [date(2026, 7, d) for d in (14, 15, 16, 17)]
    events += [mark_record(A, d, s, "N" if (d, s) == (july[0], "am") else "/") for d in july for s in ("am", "pm")]
    handler = AnalyticsHandler(rules=FlagRules())
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await handler(session, events)
    november = [date(2026, 11, d) for d in (16, 17)]
    async with sessionmaker.begin() as session:
        await handler(session, [mark_record(A, d, s, "/") for d in november for s in ("am", "pm")])
    answer = (await analytics.get(f"/v1/schools/{URN}/pupils/{A}/attendance", params={"to": "2026-11-17"})).json()
    flag = next(f for f in answer["flags"] if f["flag"] == "unexplained_absence_overdue")
    assert (flag["evidence_count"], flag["evidence_since"]) == (1, "2026-07-14")
    listed = (await analytics.get(f"/v1/schools/{URN}/flags", params={"academic_year": 2026})).json()["items"]
    assert [(f["upn"], f["flag"]) for f in listed] == [(A, "unexplained_absence_overdue")]


async def test_a_part_time_timetable_past_its_review_or_end_is_flagged_until_reviewed_and_ended(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 23: a timetable's review is due 18 September and its end 2 October. Judged at the
    pupil's latest register: on 22 September the review is overdue; once the review is
    recorded (version 2) it is not, and by 5 October the end date has passed."""
    timetable_id = uuid.uuid4()

    def version(number: int, **changes: object) -> tuple[str, Event]:
        fields: dict = {
            "school_urn": URN,
            "la_code": "201",
            "upn": A,
            "timetable_id": timetable_id,
            "version": number,
            "reason": "medical",
            "attended_sessions": ("mon_am",),
            "start_date": date(2026, 9, 7),
            "end_date": date(2026, 10, 2),
            "next_review_on": date(2026, 9, 18),
            "status": "active",
        }
        payload = PartTimeTimetableSetV1(**{**fields, **changes})
        return "attendance.pupils.v1", make_event(payload, source="/test", subject=pupil_key(URN, A))

    handler = AnalyticsHandler(rules=FlagRules())
    sessions = make_sessionmaker(engine)

    async def apply(*events: tuple[str, Event]) -> set[str]:
        async with sessions.begin() as session:
            await handler(session, list(events))
        answer = (await analytics.get(f"/v1/schools/{URN}/pupils/{A}/attendance")).json()
        return {f["flag"] for f in answer["flags"]} & {"part_time_review_overdue", "part_time_past_end"}

    assert await apply(version(1), mark_record(A, date(2026, 9, 14), "am", "/")) == set()
    assert await apply(mark_record(A, date(2026, 9, 22), "am", "/")) == {"part_time_review_overdue"}
    reviewed = version(2, next_review_on=date(2026, 10, 16))
    assert await apply(reviewed, version(1)) == set()  # the older version, late, changes nothing
    assert await apply(mark_record(A, date(2026, 10, 5), "am", "/")) == {"part_time_past_end"}
    assert await apply(version(3, status="ended", ended_on=date(2026, 10, 2))) == set()
    async with engine.connect() as conn:
        changes = await conn.execute(
            text("SELECT count(*) FROM analytics.outbox WHERE convert_from(envelope, 'UTF8') LIKE '%part_time_%'")
        )
        assert changes.scalar() == 4  # raised, cleared, raised, cleared


async def test_a_pupils_change_recomputes_the_years_from_its_day_on_not_the_years_before(
    analytics: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Issue 28: a leaving (or an admission, an update, a timetable) alters no academic year
    before the day it takes effect, so those years are not recomputed for it; with six years
    kept, each change rewrote six rows, and the earlier years' flags were evaluated again."""
    last_year = [date(2025, 3, 3) + timedelta(days=d) for d in range(5)]  # 2024/25
    this_year = [date(2025, 9, 8) + timedelta(days=d) for d in range(5)]  # 2025/26

    def pupil_event(data) -> tuple[str, Event]:
        return "attendance.pupils.v1", make_event(data, source="/test", subject=pupil_key(URN, A))

    def leaving(left_on: date) -> tuple[str, Event]:
        return pupil_event(PupilDeletedV1(school_urn=URN, la_code="201", upn=A, left_on=left_on, ground="g"))

    handler, sessionmaker = AnalyticsHandler(rules=FlagRules()), make_sessionmaker(engine)
    admitted = SAMPLE_PUPIL.model_copy(update={"upn": A, "admission_date": date(2024, 9, 2)})
    events = [pupil_event(admitted)] + [mark_record(A, d, s, "/") for d in last_year + this_year for s in ("am", "pm")]
    async with sessionmaker.begin() as session:
        await handler(session, events)

    async def possible() -> dict[int, int]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT academic_year, possible FROM analytics.pupil_years WHERE upn = :upn"), {"upn": A}
            )
            return dict(rows.all())

    async def mark_stored_figures() -> None:
        # A figure no count gives: a year recomputed gets its true figure back.
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE analytics.pupil_years SET possible = 999 WHERE upn = :upn"), {"upn": A})

    assert await possible() == {2024: 10, 2025: 10}
    await mark_stored_figures()
    async with sessionmaker.begin() as session:
        await handler(session, [leaving(this_year[2])])
    assert await possible() == {2024: 999, 2025: 6}  # this year's recomputed: on roll to Wednesday

    await mark_stored_figures()
    async with sessionmaker.begin() as session:
        await handler(session, [leaving(last_year[-1])])  # the leaving put back into last year
    assert await possible() == {2024: 10, 2025: 0}


async def test_a_batch_larger_than_a_chunk_is_recomputed_a_chunk_at_a_time_to_the_same_rows(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of registers reaching more pupil-years than `RECOMPUTE_CHUNK` is read,
    recomputed and written in chunks: every pupil-year ends as one pass over the batch gives,
    at two schools, with a pupil's marks of two days and an amendment among them."""
    days = [date(2025, 9, 8), date(2025, 9, 9)]
    upns = [make_upn(serial=870 + i) for i in range(7)]
    codes = ["/", "N", "I", "/", "L", "G", "/"]

    def batch(urn: str) -> list[tuple[str, Event]]:
        registers = [
            RegisterMarkedV1(
                school_urn=urn,
                la_code="201",
                date=day,
                session=session,
                recorded_at=datetime(2025, 9, 8, 9, tzinfo=UTC),
                marks=tuple((upn, code, 1, None, None, None) for upn, code in zip(upns, codes, strict=True)),
            )
            for day in days
            for session in ("am", "pm")
        ]
        events = [("attendance.marks.v1", make_event(r, source="/test", subject=urn)) for r in registers]
        explained = MarkAmendedV1(
            school_urn=urn,
            la_code="201",
            upn=upns[1],
            date=days[0],
            session="am",
            code="I",
            previous_code="N",
            revision=2,
            recorded_at=datetime(2025, 9, 8, 11, tzinfo=UTC),
            reason="the parent phoned",
        )
        return [
            *events,
            ("attendance.marks.v1", make_event(explained, source="/test", subject=pupil_key(urn, upns[1]))),
        ]

    async def rows(urn: str) -> list[tuple]:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT upn, codes, possible, present, authorised, unauthorised, flags "
                    "FROM analytics.pupil_years WHERE school_urn = :urn ORDER BY upn"
                ),
                {"urn": urn},
            )
            return [tuple(r) for r in result]

    handler, sessionmaker = AnalyticsHandler(rules=FlagRules()), make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await handler(session, batch("100001"))
    monkeypatch.setattr(analytics_events, "RECOMPUTE_CHUNK", 2)
    async with sessionmaker.begin() as session:
        await handler(session, batch("100002"))
    whole, chunked = await rows("100001"), await rows("100002")
    assert len(whole) == 7 and chunked == whole
    figures = {r[0]: r[2:6] for r in whole}  # possible, present, authorised, unauthorised
    assert figures[upns[0]] == (4, 4, 0, 0) and figures[upns[5]] == (4, 0, 0, 4)
    assert figures[upns[1]] == (4, 0, 1, 3)  # the N of Monday morning explained
