"""Applying marks to a pupil's stored year. Pure: no I/O."""

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from analytics_service.domain.encoding import BYTE_OF_CODE, SLOTS, slot_of
from attendance_shared.events import SessionMarkedV1
from attendance_shared.rules.figures import academic_year_of

PupilYearKey = tuple[str, str, int]  # school URN, UPN, academic year
MAX_REVISION = np.iinfo(np.uint16).max


@dataclass(eq=False)
class PupilYear:
    codes: bytearray = field(default_factory=lambda: bytearray(SLOTS))
    revisions: np.ndarray = field(default_factory=lambda: np.zeros(SLOTS, dtype="<u2"))
    flags: int = 0
    la_code: str | None = None

    @classmethod
    def stored(cls, codes: bytes, revisions: bytes, flags: int) -> "PupilYear":
        return cls(bytearray(codes), np.frombuffer(revisions, dtype="<u2").copy(), flags)

    def apply(self, mark: SessionMarkedV1) -> bool:
        """Take the mark if it is newer than what the session holds; stale and duplicate
        revisions change nothing, so any delivery order ends in the same year."""
        slot = slot_of(mark.date, mark.session)
        if mark.revision <= self.revisions[slot]:
            return False
        self.codes[slot] = BYTE_OF_CODE[mark.code]
        self.revisions[slot] = min(mark.revision, MAX_REVISION)
        return True


def key_of(mark: SessionMarkedV1) -> PupilYearKey:
    return mark.school_urn, mark.upn, academic_year_of(mark.date)


def group_marks(marks: Iterable[SessionMarkedV1]) -> dict[PupilYearKey, list[SessionMarkedV1]]:
    grouped: dict[PupilYearKey, list[SessionMarkedV1]] = {}
    for mark in marks:
        grouped.setdefault(key_of(mark), []).append(mark)
    return grouped
