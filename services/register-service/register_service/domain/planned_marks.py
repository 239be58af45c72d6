"""How a register taken over planned marks is judged. Pure: no I/O.

A planned mark (an agreed leave's code, a part-time timetable's C2) stands when the session's
register is taken: it becomes the pupil's first entry, whether or not the register has a row
for the pupil. A row saying the pupil came in (`/`, `\\`, `L`, `U`) replaces it, as an
amendment naming the plan, and so does `#` (the school closed: the session never happened);
a row with the planned code changes nothing; any other code is refused for that row, so a
teacher's N cannot silently overwrite an agreed absence. To record anything else the school
changes the plan first (reduces or cancels the leave, ends the timetable). A plan for a
session the calendar has since closed does not stand.
"""

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from attendance_shared.rules.codes import ATTENDED_CODES, CLOSURE_CODE
from register_service.domain.register_rules import MarkRow, RowError


@dataclass(frozen=True, slots=True)
class Planned:
    upn: str
    code: str
    leave_request_id: uuid.UUID | None = None
    timetable_id: uuid.UUID | None = None

    @property
    def source(self) -> str:
        if self.leave_request_id is not None:
            return f"leave request {self.leave_request_id}"
        return f"part-time timetable {self.timetable_id}"

    @property
    def stands_reason(self) -> str:
        return f"planned: {self.source}"

    def replaced_reason(self, code: str) -> str:
        if code == CLOSURE_CODE:
            return f"the school was closed: replaces the planned {self.code} of {self.source}"
        return f"the pupil came in: replaces the planned {self.code} of {self.source}"


def refusal(planned: Planned, code: str) -> str:
    return (
        f"pupil {planned.upn} has a planned {planned.code} for this session from {planned.source}; "
        f"{code!r} cannot replace it (only / \\ L U, when the pupil came in): change the plan first"
    )


def may_replace(planned: Planned, code: str) -> bool:
    return code == planned.code or code in ATTENDED_CODES or code == CLOSURE_CODE


@dataclass(frozen=True, slots=True)
class PlannedOutcome:
    errors: list[RowError]
    # Planned marks that become the pupil's first entry with this register.
    stand: list[Planned]
    # Pupils whose row replaces the planned mark: the reason their amendment records.
    replaced: dict[str, str]


def reconcile(
    rows: Sequence[MarkRow],
    planned: Mapping[str, Planned],
    marked: Collection[str],
    on_roll: Collection[str],
    *,
    session_open: bool = True,
) -> PlannedOutcome:
    """Judge a register's rows against the session's standing planned marks. `marked` are the
    pupils who already have a mark for the session (a planned mark already stood for them);
    `on_roll` the pupils on roll that day (a plan of a pupil since deleted never stands);
    `session_open` whether the calendar still opens the session (a plan for a session closed
    since never stands)."""
    errors: list[RowError] = []
    replaced: dict[str, str] = {}
    for index, row in enumerate(rows):
        plan = planned.get(row.upn)
        if plan is None or row.code == plan.code:
            continue
        if may_replace(plan, row.code):
            replaced[row.upn] = plan.replaced_reason(row.code)
        else:
            errors.append(RowError(index, "code", refusal(plan, row.code)))
    stand = [p for upn, p in sorted(planned.items()) if session_open and upn not in marked and upn in on_roll]
    return PlannedOutcome(errors, stand, replaced)
