"""Applying marks to a pupil's stored year. Pure: no I/O."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from analytics_service.domain.encoding import BYTE_OF_CODE, SLOTS, slot_of
from attendance_shared.events import SessionMark
from attendance_shared.rules.figures import academic_year_of

PupilYearKey = tuple[str, str, int]  # school URN, UPN, academic year


@dataclass(eq=False)
class PupilYear:
    """A pupil's stored year. Almost every session stays at revision 1, so only the sessions
    amended beyond it keep their revision (as slot, revision pairs): a row stays under 1 KB
    and PostgreSQL can update it in place."""

    codes: bytearray = field(default_factory=lambda: bytearray(SLOTS))
    amended: dict[int, int] = field(default_factory=dict)
    flags: int = 0
    la_code: str | None = None

    @classmethod
    def stored(cls, codes: bytes, revisions: bytes, flags: int) -> "PupilYear":
        pairs = np.frombuffer(revisions, dtype="<i4").reshape(-1, 2)
        return cls(bytearray(codes), dict(pairs.tolist()), flags)

    def revisions_bytes(self) -> bytes:
        return np.array(sorted(self.amended.items()), dtype="<i4").tobytes() if self.amended else b""

    def revision(self, slot: int) -> int:
        return self.amended.get(slot) or (1 if self.codes[slot] else 0)

    def apply(self, mark: SessionMark) -> bool:
        """Take the mark if it is newer than what the session holds; stale and duplicate
        revisions change nothing, so any delivery order ends in the same year."""
        return self.take(mark.date, mark.session, mark.code, mark.revision)

    def take(self, day: date, session: str, code: str, revision: int) -> bool:
        """`apply`, from a mark's values rather than its model."""
        slot = slot_of(day, session)
        if revision <= self.revision(slot):
            return False
        self.codes[slot] = BYTE_OF_CODE[code]
        if revision > 1:
            self.amended[slot] = revision
        return True

    def merge(self, other: "PupilYear") -> None:
        """Take each of `other`'s sessions that holds a newer revision than this one's, as
        applying its marks here would."""
        for slot in np.flatnonzero(np.frombuffer(other.codes, dtype=np.uint8)).tolist():
            revision = other.revision(slot)
            if revision > self.revision(slot):
                self.codes[slot] = other.codes[slot]
                if revision > 1:
                    self.amended[slot] = revision
        self.la_code = other.la_code or self.la_code


def key_of(mark: SessionMark) -> PupilYearKey:
    return mark.school_urn, mark.upn, academic_year_of(mark.date)


def group_marks(marks: Iterable[SessionMark]) -> dict[PupilYearKey, list[SessionMark]]:
    grouped: dict[PupilYearKey, list[SessionMark]] = {}
    for mark in marks:
        grouped.setdefault(key_of(mark), []).append(mark)
    return grouped
