"""Rules an admission must meet before it is entered on the admission register. Pure: no I/O.
Whether the pupil is already on the register is read (or, in a race, the database's to say)."""

from collections.abc import Sequence
from datetime import date

from attendance_shared.rules.identifiers import InvalidUPN, validate_upn
from register_service.domain.register_rules import RowError

Problem = tuple[str, str]  # (field, message)


def check_admission(
    upn: str, *, admission_date: date, date_of_birth: date, today: date
) -> tuple[str | None, list[Problem]]:
    """The UPN in its compact form (None if it is not a valid UPN) and every reason the
    admission cannot be entered, in field order; no reasons if it can."""
    problems: list[Problem] = []
    compact: str | None
    try:
        compact = validate_upn(upn)
    except InvalidUPN as exc:
        compact = None
        problems.append(("upn", str(exc)))
    if admission_date < date_of_birth:
        problems.append(("admission_date", "admission_date is before date_of_birth"))
    if admission_date > today:
        problems.append(("admission_date", "a pupil is entered on the register on or after the first day they attend"))
    return compact, problems


def readmission_problem(upn: str, urn: str, *, left_on: date | None, admission_date: date) -> Problem | None:
    """Why a pupil already on the school's admission register cannot be admitted again on
    `admission_date`, or None when they can: a pupil deleted on a regulation-9 ground (moved
    away, say) may come back later, and each enrolment keeps its own dates and returns."""
    if left_on is None:
        return "upn", f"pupil {upn} is already on the admission register of school {urn}"
    if admission_date <= left_on:
        return "admission_date", (
            f"pupil {upn} was on roll until {left_on}; a re-admission starts after the last day of the last stay"
        )
    return None


def repeated_pupils(upns: Sequence[str | None]) -> list[RowError]:
    """Rows naming a pupil an earlier row of the same batch already admits."""
    first_row: dict[str, int] = {}
    problems = []
    for index, upn in enumerate(upns):
        if upn is None:
            continue
        if upn in first_row:
            problems.append(RowError(index, "upn", f"the same pupil as row {first_row[upn]}"))
        else:
            first_row[upn] = index
    return problems
