"""Absence by reason, each a rate of possible sessions, grouped as the DfE's absence
statistics report them. Every absence code belongs to exactly one reason, so the reasons'
sessions add up to the overall absence. Pure: no I/O.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reason:
    name: str
    label: str
    codes: tuple[str, ...]
    authorised: bool


REASONS: tuple[Reason, ...] = (
    Reason("illness", "Illness (not medical or dental appointments)", ("I",), True),
    Reason("medical_appointments", "Medical or dental appointments", ("M",), True),
    Reason("religious_observance", "Religious observance", ("R",), True),
    Reason("leave", "Leave of absence granted (exceptional circumstances, interview, performance, "
           "study leave, part-time timetable)", ("C", "C1", "C2", "J1", "S"), True),
    Reason("excluded", "Suspended or excluded, no alternative provision", ("E",), True),
    Reason("traveller", "Parent travelling for occupational purposes", ("T",), True),
    Reason("holiday_not_granted", "Holiday not granted by the school", ("G",), False),
    Reason("not_yet_known", "Reason not yet established", ("N",), False),
    Reason("other_unauthorised", "Other unauthorised absence", ("O",), False),
    Reason("late_after_registers_closed", "Late after registers closed", ("U",), False),
)  # fmt: skip
# Every absence code has one reason and nothing else has one (a unit test holds it to this).
REASON_OF_CODE = {code: reason.name for reason in REASONS for code in reason.codes}
