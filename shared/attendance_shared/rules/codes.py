"""The attendance and absence codes in force from 19 August 2024 (SI 2024/208, reg 10).

Each code maps to one statistical category; possible sessions, attendance and absence
all follow from the category, so nothing else in the platform names codes by hand.
"""

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    PRESENT = "present"
    APPROVED_EDUCATIONAL_ACTIVITY = "approved_educational_activity"
    AUTHORISED_ABSENCE = "authorised_absence"
    UNAUTHORISED_ABSENCE = "unauthorised_absence"
    NOT_POSSIBLE = "not_possible"

    @property
    def is_possible_session(self) -> bool:
        return self is not Category.NOT_POSSIBLE

    @property
    def counts_as_attendance(self) -> bool:
        return self in (Category.PRESENT, Category.APPROVED_EDUCATIONAL_ACTIVITY)

    @property
    def counts_as_absence(self) -> bool:
        return self in (Category.AUTHORISED_ABSENCE, Category.UNAUTHORISED_ABSENCE)


@dataclass(frozen=True, slots=True)
class AttendanceCode:
    code: str
    meaning: str
    category: Category
    note_required: bool = False
    administrative: bool = False


_P, _AEA = Category.PRESENT, Category.APPROVED_EDUCATIONAL_ACTIVITY
_AUTH, _UNAUTH, _NPS = Category.AUTHORISED_ABSENCE, Category.UNAUTHORISED_ABSENCE, Category.NOT_POSSIBLE

ATTENDANCE_CODES: dict[str, AttendanceCode] = {
    c.code: c
    for c in (
        AttendanceCode("/", "Present at morning registration", _P),
        AttendanceCode("\\", "Present at afternoon registration", _P),
        AttendanceCode("L", "Late: arrived before the register closed", _P),
        AttendanceCode("K", "Attending education provision arranged by the local authority", _AEA, note_required=True),
        AttendanceCode("V", "Attending an educational visit or trip", _AEA),
        AttendanceCode("P", "Participating in a supervised sporting activity", _AEA),
        AttendanceCode("W", "Attending work experience", _AEA),
        AttendanceCode("B", "Attending any other approved educational activity", _AEA, note_required=True),
        AttendanceCode("D", "Dual registered: attending another school", _NPS),
        AttendanceCode("C1", "Leave: regulated performance or regulated employment abroad", _AUTH),
        AttendanceCode("M", "Leave: medical or dental appointment", _AUTH),
        AttendanceCode("J1", "Leave: interview", _AUTH),
        AttendanceCode("S", "Leave: study leave", _AUTH),
        AttendanceCode("X", "Not required to be in school (non-compulsory school age)", _NPS),
        AttendanceCode("C2", "Leave: part-time timetable", _AUTH),
        AttendanceCode("C", "Leave: exceptional circumstances", _AUTH),
        AttendanceCode("E", "Suspended or permanently excluded, no alternative provision", _AUTH),
        AttendanceCode("I", "Illness (not medical or dental appointment)", _AUTH),
        AttendanceCode("R", "Religious observance", _AUTH),
        AttendanceCode("T", "Parent travelling for occupational purposes", _AUTH),
        AttendanceCode("Q", "Unable to attend: lack of access arrangements", _NPS),
        AttendanceCode("Y1", "Unable to attend: transport not available", _NPS, note_required=True),
        AttendanceCode("Y2", "Unable to attend: widespread travel disruption", _NPS, note_required=True),
        AttendanceCode("Y3", "Unable to attend: part of school premises closed", _NPS, note_required=True),
        AttendanceCode("Y4", "Unable to attend: whole school site unexpectedly closed", _NPS, note_required=True),
        AttendanceCode("Y5", "Unable to attend: criminal justice detention", _NPS, note_required=True),
        AttendanceCode("Y6", "Unable to attend: public health guidance or law", _NPS, note_required=True),
        AttendanceCode("Y7", "Unable to attend: any other unavoidable cause", _NPS, note_required=True),
        AttendanceCode("G", "Holiday not granted by the school", _UNAUTH),
        AttendanceCode("N", "Reason for absence not yet established", _UNAUTH),
        AttendanceCode("O", "Absent in other or unknown circumstances", _UNAUTH),
        AttendanceCode("U", "Arrived in school after the register closed", _UNAUTH),
        AttendanceCode("Z", "Prospective pupil not on admission register", _NPS, administrative=True),
        AttendanceCode("#", "Planned whole or partial school closure", _NPS, note_required=True, administrative=True),
    )
}

# Codes withdrawn on 19 August 2024; named so the error can say why they are refused.
RETIRED_CODES: dict[str, str] = {
    "H": "holiday can no longer be authorised in term time (use G, or C if exceptional)",
    "J": "replaced by J1 (interview), now authorised absence",
    "Y": "replaced by Y1 to Y7",
    "F": "extended family holiday was withdrawn before 2024",
}

# Codes that count towards the penalty-notice threshold and the continuous-absence returns.
UNAUTHORISED_ABSENCE_CODES = frozenset(c for c, v in ATTENDANCE_CODES.items() if v.category is _UNAUTH)

# Arrived late: L before the register closed (present), U after it (unauthorised absence).
# Both carry the minutes late so the register shows which side of the closing time it was.
LATE_CODES = frozenset({"L", "U"})
LATE_BEFORE_CLOSE, LATE_AFTER_CLOSE = "L", "U"
# Planned whole or partial school closure: the one code for a session the school does not open.
CLOSURE_CODE = "#"
# Codes whose entry must say what the pupil was doing (reg 10 guidance for B, K and Y7).
NOTE_REQUIRED_CODES = frozenset({"B", "K", "Y7"})
# Reason not yet established: must be followed up and replaced (see thresholds).
UNEXPLAINED_CODE = "N"
# The pupil came into school: the only codes a register may put over a planned mark (leave
# agreed in advance, a part-time timetable's C2), which the pupil's arrival overrides. U is
# unauthorised, but the pupil is in the building, so the planned absence did not happen.
ATTENDED_CODES = frozenset({"/", "\\", "L", "U"})
# Illness: the code behind the long-sickness flag and the LA sickness return.
ILLNESS_CODE = "I"


class UnknownAttendanceCode(ValueError):
    pass


def lookup_code(code: str) -> AttendanceCode:
    """The code's entry, or an error that says why the code is not accepted."""
    try:
        return ATTENDANCE_CODES[code]
    except KeyError:
        if code in RETIRED_CODES:
            raise UnknownAttendanceCode(f"code {code!r} was retired in August 2024: {RETIRED_CODES[code]}") from None
        raise UnknownAttendanceCode(f"{code!r} is not an attendance code of the 2024 regulations") from None


def category_of(code: str) -> Category:
    return lookup_code(code).category
