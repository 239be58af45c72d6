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
# Penalty notice (National Framework 2024): must be considered at 10 sessions of unauthorised
# absence (G, N, O, U in any mix) within a rolling 10 school weeks, which may span terms and
# years. A school week is any week with at least one school session.
PENALTY_NOTICE_SESSIONS = 10
PENALTY_NOTICE_SCHOOL_WEEKS = 10
# Sickness return (reg 13): a pupil likely to miss 15 school days, consecutive or cumulative,
# through illness. Two sessions make a school day.
LONG_SICKNESS_SCHOOL_DAYS = 15
# Attendance return (reg 13): absent for a continuous 10 school days without authorisation.
CONTINUOUS_ABSENCE_RETURN_SCHOOL_DAYS = 10
# Deletion ground reg 9(1)(i): continuously absent for 20 school days without authorisation.
CONTINUOUS_ABSENCE_DELETION_SCHOOL_DAYS = 20
# At risk of persistent absence: overall absence inside this band (percent, lower bound
# inclusive, upper bound the persistent threshold) with attendance falling: the latest
# school weeks below the same number of weeks before them. Schools tune the band.
AT_RISK_LOWER_PERCENT = 5
AT_RISK_TREND_SCHOOL_WEEKS = 4
SESSIONS_PER_SCHOOL_DAY = 2

# Minutes late an L or U may record: past the end of the longest morning session, it is not
# lateness any more.
MAX_MINUTES_LATE = 300

# Leave of absence: the most school days one request may cover unless the school sets its own
# (the head decides the number of days; reg 11).
LEAVE_MAX_SCHOOL_DAYS = 10
# Part-time timetables: first review within 2 school weeks, end within 6 (common LA practice,
# e.g. LBHF and Plymouth); a longer one needs an extension with a reason.
PART_TIME_FIRST_REVIEW_SCHOOL_WEEKS = 2
PART_TIME_MAX_SCHOOL_WEEKS = 6
