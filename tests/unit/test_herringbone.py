"""The registration certificate's grid, legend, amendments and the last 100 possible sessions."""

from datetime import date

from support_service.domain.herringbone import certificate


def entry(day: str, session: str, code: str, revision: int = 1, **more: object) -> dict:
    return {"date": day, "session": session, "code": code, "revision": revision, "recorded_by": "mis", **more}


def test_each_week_is_a_row_with_the_standing_code_of_each_session() -> None:
    entries = [
        entry("2026-11-09", "am", "/"),
        entry("2026-11-09", "pm", "N"),
        entry("2026-11-09", "pm", "I", 2, previous_code="N", reason="mum phoned", made_by_name="Ms Reid"),
        entry("2026-11-13", "am", "O"),
        entry("2026-11-16", "am", "G"),
        entry("2026-11-14", "am", "/"),  # a Saturday: not on the grid
    ]
    made = certificate(entries, date(2026, 11, 1), date(2026, 11, 30))
    rows = made.rows()
    assert [r["week_of"] for r in rows] == [date(2026, 11, 9), date(2026, 11, 16)]
    assert rows[0]["days"]["Mon"] == {"am": "/", "pm": "I"}
    assert rows[0]["days"]["Fri"] == {"am": "O", "pm": ""}
    assert set(made.legend()) == {"/", "I", "O", "G"}
    assert made.legend()["G"].lower().startswith("holiday")
    (amended,) = made.amendments
    assert (amended.previous_code, amended.code, amended.reason, amended.made_by) == ("N", "I", "mum phoned", "Ms Reid")


def test_the_last_hundred_possible_sessions_skip_those_that_are_not_possible() -> None:
    entries = [entry(f"2026-11-{d:02d}", s, "O" if d == 20 else "/") for d in range(2, 21) for s in ("am", "pm")]
    entries += [entry("2026-11-19", "am", "#", 2)]  # closed: not a possible session
    made = certificate(entries, date(2026, 11, 1), date(2026, 11, 30))
    assert made.unauthorised_in_last_possible(100) == (2, 29)
    assert made.unauthorised_in_last_possible(3) == (2, 3)
