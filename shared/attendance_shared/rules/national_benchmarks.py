"""National attendance figures for England (state-funded schools), as published by DfE.

Versioned reference data: DfE revises its daily estimates, so every figure names its period,
source and release. Add a row for a new release rather than editing an old one; `latest()`
picks the newest release for a phase. Rates are percentages of possible sessions; PA and SA
are percentages of enrolments.
"""

from dataclasses import dataclass
from datetime import date

REFERENCE_VERSION = "2025-10-23"


@dataclass(frozen=True, slots=True)
class NationalBenchmark:
    period: str
    phase: str  # "all", "primary", "secondary", "special"
    source: str
    published: date
    overall_absence_rate: float | None
    unauthorised_absence_rate: float | None
    persistent_absence_rate: float | None
    severe_absence_rate: float | None


NATIONAL_BENCHMARKS: tuple[NationalBenchmark, ...] = (
    NationalBenchmark("2023/24 full year", "all", "DfE pupil absence in schools in England (census, accredited)",
                      date(2025, 3, 20), 7.1, 2.5, 20.0, 2.3),
    NationalBenchmark("2024/25 autumn and spring terms", "all", "DfE pupil absence in schools in England (census)",
                      date(2025, 10, 23), 6.63, None, 17.63, 2.26),
    NationalBenchmark("2024/25 autumn and spring terms", "primary", "DfE pupil absence in schools in England (census)",
                      date(2025, 10, 23), 5.16, None, None, None),
    NationalBenchmark("2024/25 autumn and spring terms", "secondary",
                      "DfE pupil absence in schools in England (census)", date(2025, 10, 23), 8.09, None, None, None),
    NationalBenchmark("2024/25 autumn and spring terms", "special", "DfE pupil absence in schools in England (census)",
                      date(2025, 10, 23), 12.77, None, None, None),
    NationalBenchmark("2024/25 full year", "all", "DfE pupil attendance in schools (daily data, in development)",
                      date(2025, 7, 31), 6.9, None, 18.7, None),
)  # fmt: skip

_PHASE_OF_SCHOOL = {"primary": "primary", "secondary": "secondary", "special": "special"}


def latest(phase: str | None = None) -> NationalBenchmark:
    """The newest census release for the school's phase, or for all schools."""
    wanted = _PHASE_OF_SCHOOL.get(phase or "", "all")
    census = [b for b in NATIONAL_BENCHMARKS if "census" in b.source]
    for_phase = [b for b in census if b.phase == wanted] or [b for b in census if b.phase == "all"]
    return max(for_phase, key=lambda b: b.published)


@dataclass(frozen=True, slots=True)
class NationalReasonRate:
    """England's rate of one reason for absence (`rules.reasons`), a percentage of possible
    sessions. Only the reasons a stored release states are here; the others are unknown, not 0."""

    period: str
    phase: str
    reason: str
    rate: float
    source: str
    published: date


NATIONAL_REASON_RATES: tuple[NationalReasonRate, ...] = (
    NationalReasonRate("2024/25 autumn and spring terms", "all", "illness", 3.38,
                       "DfE pupil absence in schools in England (census)", date(2025, 10, 23)),
)  # fmt: skip


def latest_reason_rates(phase: str | None = None) -> dict[str, NationalReasonRate]:
    """The newest stated rate of each reason for the school's phase, else for all schools."""
    wanted = _PHASE_OF_SCHOOL.get(phase or "", "all")
    found: dict[str, NationalReasonRate] = {}
    for rate in sorted(NATIONAL_REASON_RATES, key=lambda r: (r.phase == wanted, r.published)):
        if rate.phase in (wanted, "all"):
            found[rate.reason] = rate
    return found
