"""Absence bands, as the DfE's *Monitor your school attendance* shows them: the share of
pupils in each 5% band of overall absence up to 50%, then 50% and over, counting only pupils
with at least 20 possible sessions. Pure: no I/O.

Bands compare whole numbers (`absent * 100` against `bound * possible`), so a pupil at exactly
a bound is in the band it opens: 1 of 20 sessions (5%) is in 5–<10, 10 of 20 (50%) in 50+.
"""

from dataclasses import dataclass

import numpy as np

BAND_WIDTHS = (5, 10)  # percentage points; each divides the 50% at which the top band opens
DEFAULT_BAND_WIDTH = 5
TOP_BAND_FROM_PERCENT = 50
MIN_POSSIBLE_SESSIONS_FOR_BANDS = 20


@dataclass(frozen=True, slots=True)
class Band:
    lower: int  # percent, inclusive
    upper: int | None  # percent, exclusive; None for the top band

    @property
    def key(self) -> str:
        """How a band is named in a URL: `10-15`, `50+`."""
        return f"{self.lower}+" if self.upper is None else f"{self.lower}-{self.upper}"

    @property
    def label(self) -> str:
        return f"{self.lower}% and over" if self.upper is None else f"{self.lower}% to under {self.upper}%"


def bands(width: int = DEFAULT_BAND_WIDTH) -> list[Band]:
    if width not in BAND_WIDTHS:
        raise ValueError(f"a band is {' or '.join(map(str, BAND_WIDTHS))} points wide")
    lowers = range(0, TOP_BAND_FROM_PERCENT, width)
    return [Band(lower, lower + width) for lower in lowers] + [Band(TOP_BAND_FROM_PERCENT, None)]


def band_of_key(key: str, width: int = DEFAULT_BAND_WIDTH) -> int | None:
    """The index of the band a URL names, or None when no band of that width has that name."""
    for index, band in enumerate(bands(width)):
        if band.key == key:
            return index
    return None


def band_index(absent: int, possible: int, width: int = DEFAULT_BAND_WIDTH) -> int | None:
    """The band of one pupil, or None when they have too few possible sessions to count."""
    if possible < MIN_POSSIBLE_SESSIONS_FOR_BANDS:
        return None
    return min((absent * 100) // (possible * width), TOP_BAND_FROM_PERCENT // width)


def band_indices(absent: np.ndarray, possible: np.ndarray, width: int = DEFAULT_BAND_WIDTH) -> np.ndarray:
    """`band_index` of many pupils at once; -1 where a pupil does not count."""
    absent = np.asarray(absent, dtype=np.int64)
    possible = np.asarray(possible, dtype=np.int64)
    counted = possible >= MIN_POSSIBLE_SESSIONS_FOR_BANDS
    index = np.minimum((absent * 100) // np.maximum(possible * width, 1), TOP_BAND_FROM_PERCENT // width)
    return np.where(counted, index, -1)
