"""Spells of absence, as FFT Education Datalab defines them, and a persistent-absence risk
that reads the rate and the spells together. Pure: no I/O.

A spell is a run of consecutive absent sessions. Sessions that are not possible (weekends,
holidays, INSET days, dual registration, X, unmarked sessions) are skipped: they neither end a
spell nor lengthen it. So absent Monday 8 to Tuesday 16 November is one spell of 14 sessions,
and one of 10 if two of those days were spent at another school (D). Only attending, or an
approved educational activity, ends a spell.
"""

from dataclasses import dataclass

import numpy as np

from analytics_service.domain.encoding import AUTHORISED, NOT_COUNTED, UNAUTHORISED
from attendance_shared.rules.thresholds import (
    DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS,
    PERSISTENT_ABSENCE_PERCENT,
)


@dataclass(frozen=True, slots=True)
class Spells:
    count: int
    longest: int  # sessions
    sessions: int  # absent sessions in all spells


def spells_of(categories: np.ndarray) -> Spells:
    """One pupil's spells in a run of sessions given as category numbers, in date order."""
    counted = categories[categories != NOT_COUNTED]
    absent = (counted == AUTHORISED) | (counted == UNAUTHORISED)
    if not absent.any():
        return Spells(0, 0, 0)
    edges = np.diff(np.concatenate(([0], absent.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = ends - starts
    return Spells(len(lengths), int(lengths.max()), int(lengths.sum()))


# The risk method. Rate alone misses the pupil who is absent a day here and a day there: each
# spell is short, but a new one every fortnight is a habit forming, and the rate follows. So:
#   persistent — absence is at or above 10% already;
#   high       — absence of 7% or more, or 5% or more with a new spell at least every 20
#                possible sessions (two school weeks);
#   moderate   — absence of 5% or more, or a spell at least every 20 possible sessions;
#   low        — neither;
#   unknown    — fewer than 20 possible sessions, as the rate flags wait for.
# The cut-offs are ours, set below the 10% line so that a pupil is seen before crossing it;
# they are documented, not taken from a published model.
RISK_HIGH_RATE_PERCENT = 7
RISK_RATE_PERCENT = 5
RISK_SESSIONS_PER_SPELL = 20


def persistent_absence_risk(absent: int, possible: int, spells: int) -> str:
    if possible < DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS:
        return "unknown"
    if absent * 100 >= PERSISTENT_ABSENCE_PERCENT * possible:
        return "persistent"
    frequent = spells * RISK_SESSIONS_PER_SPELL >= possible
    at_rate = absent * 100 >= RISK_RATE_PERCENT * possible
    if absent * 100 >= RISK_HIGH_RATE_PERCENT * possible or (at_rate and frequent):
        return "high"
    if at_rate or frequent:
        return "moderate"
    return "low"
