"""Attendance tiers a school or LA sets to colour its lists and choose the wording of a parent's
message (e.g. East Sussex: 93 / 80 / 51%). Pure: no I/O.

A tier is named by the attendance it starts *above*: a pupil is in the first tier (best
first) whose bound their attendance exceeds. Compared on absence in whole numbers, this puts
exactly 90% attendance (10% absence) in the tier below 90, where persistent absence is, and
exactly 50% where severe absence is, so tiers never contradict those two measures.
"""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    above_percent: float  # attendance strictly above this; the last tier has 0 (and takes 0% too)


# Defaults: "96% and above, 90–96, 80–90, 50–80, below 50" with each boundary read as above.
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("excellent", 96),
    Tier("expected", 90),
    Tier("persistent_absence", 80),
    Tier("serious_persistent_absence", 50),
    Tier("severe_absence", 0),
)
MAX_TIERS = 10


def tier_problems(tiers: Sequence[Tier]) -> list[tuple[int, str, str]]:
    """What is wrong with a list of tiers, as (index, field, message); empty when it is sound."""
    problems: list[tuple[int, str, str]] = []
    if not 1 <= len(tiers) <= MAX_TIERS:
        problems.append((0, "tiers", f"give between 1 and {MAX_TIERS} tiers"))
        return problems
    seen: set[str] = set()
    for index, tier in enumerate(tiers):
        if tier.name in seen:
            problems.append((index, "name", f"`{tier.name}` is named twice"))
        seen.add(tier.name)
        if not 0 <= tier.above_percent < 100:
            problems.append((index, "above_percent", "must be at least 0 and under 100"))
        if index and tier.above_percent >= tiers[index - 1].above_percent:
            problems.append((index, "above_percent", "must be lower than the tier before it (best first)"))
    if tiers[-1].above_percent != 0:
        problems.append((len(tiers) - 1, "above_percent", "the last tier must start above 0, to hold everyone"))
    return problems


def tier_of(attended: int, possible: int, tiers: Sequence[Tier] = DEFAULT_TIERS) -> str | None:
    """The pupil's tier, or None with no possible session yet."""
    if possible <= 0:
        return None
    for tier in tiers:
        if attended * 100 > tier.above_percent * possible:
            return tier.name
    return tiers[-1].name
