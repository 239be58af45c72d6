"""Rules a session register must meet before anything of it is stored. Pure: no I/O."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from attendance_shared.rules.codes import UnknownAttendanceCode, lookup_code
from attendance_shared.rules.identifiers import InvalidUPN, validate_upn


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


def check_register_date(day: date, today: date) -> str | None:
    if day > today:
        return f"{day.isoformat()} is in the future; a register is taken on the day"
    return None


def check_register_rows(rows: Sequence[MarkRow], on_roll: set[str]) -> list[RowError]:
    """Every reason each row is refused: malformed UPN, unknown code, duplicate, not on roll."""
    errors: list[RowError] = []
    first_index: dict[str, int] = {}
    for index, row in enumerate(rows):
        try:
            validate_upn(row.upn)
        except InvalidUPN as exc:
            errors.append(RowError(index, "upn", str(exc)))
        else:
            if row.upn in first_index:
                errors.append(RowError(index, "upn", f"pupil {row.upn} already marked at row {first_index[row.upn]}"))
            elif row.upn not in on_roll:
                errors.append(RowError(index, "upn", f"pupil {row.upn} is not on this school's roll on that date"))
            first_index.setdefault(row.upn, index)
        try:
            lookup_code(row.code)
        except UnknownAttendanceCode as exc:
            errors.append(RowError(index, "code", str(exc)))
    return errors
