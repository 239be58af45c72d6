"""Thresholds from the DfE methodology and the national framework, each in one place."""

# Persistent absence: overall absence at or above 10% of possible sessions.
PERSISTENT_ABSENCE_PERCENT = 10
# Severe absence: overall absence at or above 50% of possible sessions.
SEVERE_ABSENCE_PERCENT = 50
# Rate-based flags wait for this many possible sessions (two school weeks) so that the
# first days of September do not flag every pupil who misses one morning.
DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS = 20
# Teachers may be directed to work on at most 195 days a year (190 with pupils plus 5 INSET
# days), so a calendar offering more is a mistake in the dates, not a generous school.
MAX_DAYS_IN_YEAR = 195
# The longest a school may keep its register open after registration starts (2024 rule),
# the same for every session.
REGISTER_OPEN_MAX_MINUTES = 30
# An N (reason not yet established) older than this many school days is overdue: it must be
# replaced with the right code, or O. The figure is widely quoted, not found in the
# regulations' text, so schools may configure it.
UNEXPLAINED_ABSENCE_MAX_SCHOOL_DAYS = 5
