"""Folding a batch of mark events into session changes and totals deltas. Pure: no I/O."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from attendance_shared.events import SessionMarkedV1
from attendance_shared.rules.codes import Category, category_of
from attendance_shared.rules.figures import AttendanceFigures, academic_year_of

SessionKey = tuple[str, str, date, str]  # school URN, UPN, date, session
PupilYear = tuple[str, str, int]  # school URN, UPN, academic year


@dataclass(frozen=True, slots=True)
class StoredSession:
    code: str
    revision: int


def latest_per_session(marks: Iterable[SessionMarkedV1]) -> dict[SessionKey, SessionMarkedV1]:
    """The highest revision of each session in the batch; lower ones are already superseded."""
    latest: dict[SessionKey, SessionMarkedV1] = {}
    for mark in marks:
        key = (mark.school_urn, mark.upn, mark.date, mark.session)
        if key not in latest or mark.revision > latest[key].revision:
            latest[key] = mark
    return latest


def _figures_of(code: str | None, sign: int) -> dict[Category, int]:
    return {} if code is None else {category_of(code): sign}


def fold_changes(
    latest: dict[SessionKey, SessionMarkedV1], stored: dict[SessionKey, StoredSession]
) -> tuple[list[SessionMarkedV1], dict[PupilYear, AttendanceFigures]]:
    """Marks that move a session forward, and the signed change each makes to its pupil's year.

    The delta is taken from the stored code, not the event's previous_code, so a
    revision that overtook another on the way still moves the totals exactly once.
    """
    applied: list[SessionMarkedV1] = []
    deltas: dict[PupilYear, dict[Category, int]] = defaultdict(lambda: defaultdict(int))
    for key, mark in latest.items():
        before = stored.get(key)
        if before is not None and before.revision >= mark.revision:
            continue
        applied.append(mark)
        pupil_year = (mark.school_urn, mark.upn, academic_year_of(mark.date))
        for category, sign in (
            *_figures_of(before.code if before else None, -1).items(),
            *_figures_of(mark.code, +1).items(),
        ):
            deltas[pupil_year][category] += sign
    return applied, {k: AttendanceFigures.from_category_counts(v) for k, v in deltas.items()}
