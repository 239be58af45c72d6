"""Rules a session register must meet before anything of it is stored. Pure: no I/O."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from attendance_shared.rules.codes import (
    LATE_AFTER_CLOSE,
    LATE_BEFORE_CLOSE,
    LATE_CODES,
    NOTE_REQUIRED_CODES,
    UnknownAttendanceCode,
    lookup_code,
)
from attendance_shared.rules.identifiers import InvalidUPN, validate_upn
from attendance_shared.rules.thresholds import REGISTER_OPEN_MAX_MINUTES


@dataclass(frozen=True, slots=True)
class RowError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class MarkRow:
    upn: str
    code: str
    minutes_late: int | None = None
    note: str | None = None


def check_register_date(day: date, today: date) -> str | None:
    if day > today:
        return f"{day.isoformat()} is in the future; a register is taken on the day"
    return None


def minutes_open(opens: time, closes: time) -> int:
    return int((datetime.combine(date.min, closes) - datetime.combine(date.min, opens)).total_seconds() // 60)


def check_register_times(am: tuple[time, time], pm: tuple[time, time]) -> list[tuple[str, str]]:
    """The register must close after it opens, within 30 minutes, and stay open as long in
    the afternoon as in the morning (2024 regulations)."""
    problems = []
    for session, (opens, closes) in (("am", am), ("pm", pm)):
        length = minutes_open(opens, closes)
        if length <= 0:
            problems.append((f"{session}_register_closes", "must be after the register opens"))
        elif length > REGISTER_OPEN_MAX_MINUTES:
            problems.append(
                (
                    f"{session}_register_closes",
                    f"the register may stay open at most {REGISTER_OPEN_MAX_MINUTES} minutes",
                )
            )
    if not problems and minutes_open(*am) != minutes_open(*pm):
        problems.append(("pm_register_closes", "the register must stay open as long in every session"))
    return problems


def check_lateness(code: str, minutes_late: int | None, open_minutes: int) -> str | None:
    """L is late before the register closed, U after it: the minutes must agree with the code."""
    if code not in LATE_CODES:
        return None if minutes_late is None else "minutes_late is only for L and U"
    if minutes_late is None:
        return f"{code} needs minutes_late: how long after registration opened the pupil arrived"
    if code == LATE_BEFORE_CLOSE and minutes_late > open_minutes:
        return f"{minutes_late} minutes late is after the register closed ({open_minutes} minutes): that is U, not L"
    if code == LATE_AFTER_CLOSE and minutes_late <= open_minutes:
        return f"{minutes_late} minutes late is before the register closed ({open_minutes} minutes): that is L, not U"
    return None


def check_note(code: str, note: str | None) -> str | None:
    if code in NOTE_REQUIRED_CODES and not note:
        return f"a {code} mark needs a note saying what the pupil was doing"
    return None


def check_mark(row: MarkRow, open_minutes: int) -> list[tuple[str, str]]:
    """What is wrong with one mark's own fields: code, minutes late, note."""
    try:
        lookup_code(row.code)
    except UnknownAttendanceCode as exc:
        return [("code", str(exc))]
    problems = []
    if problem := check_lateness(row.code, row.minutes_late, open_minutes):
        problems.append(("minutes_late", problem))
    if problem := check_note(row.code, row.note):
        problems.append(("note", problem))
    return problems


def check_register_rows(
    rows: Sequence[MarkRow],
    on_roll: set[str],
    *,
    open_minutes: int,
    day_problem: Callable[[str], str | None] = lambda code: None,
) -> list[RowError]:
    """Every reason each row is refused: malformed UPN, duplicate, not on roll, unknown code,
    lateness that contradicts the code, a missing note, a code the day does not allow."""
    errors: list[RowError] = []
    first_index: dict[str, int] = {}
    day_problems: dict[str, str | None] = {}  # the day is the same for every row
    for index, row in enumerate(rows):
        if row.upn in on_roll:
            # Validated (check letter included) when the pupil was admitted.
            if row.upn in first_index:
                errors.append(RowError(index, "upn", f"pupil {row.upn} already marked at row {first_index[row.upn]}"))
            first_index.setdefault(row.upn, index)
        else:
            try:
                validate_upn(row.upn)
            except InvalidUPN as exc:
                errors.append(RowError(index, "upn", str(exc)))
            else:
                errors.append(RowError(index, "upn", f"pupil {row.upn} is not on this school's roll on that date"))
        mark_problems = check_mark(row, open_minutes)
        errors.extend(RowError(index, field, message) for field, message in mark_problems)
        if not any(field == "code" for field, _ in mark_problems):
            if row.code not in day_problems:
                day_problems[row.code] = day_problem(row.code)
            if day_problems[row.code]:
                errors.append(RowError(index, "code", day_problems[row.code]))
    return errors
