"""Which rate-based risk flags a pupil's figures call for. Pure: no I/O."""

from attendance_shared.events import RiskFlagType
from attendance_shared.rules.figures import AttendanceFigures


def rate_flags_due(figures: AttendanceFigures, *, min_possible_sessions: int) -> set[RiskFlagType]:
    """Persistent (>= 10%) and severe (>= 50%) absence, once enough sessions were possible."""
    if figures.possible < min_possible_sessions:
        return set()
    due: set[RiskFlagType] = set()
    if figures.is_persistent_absence:
        due.add("persistent_absence")
    if figures.is_severe_absence:
        due.add("severe_absence")
    return due
