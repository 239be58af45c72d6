"""Each school's notification settings, and when a message may go out. Pure: no I/O."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from attendance_shared.clock import SCHOOL_TIME_ZONE
from attendance_shared.events import RISK_FLAG_TYPES, RiskFlagType
from attendance_shared.rules.calendar import Calendar, SchoolCalendar, WeekdayCalendar
from attendance_shared.rules.figures import academic_year_of
from attendance_shared.rules.parent_summary import SummaryFrequency

DEFAULT_LEAD_FLAGS: tuple[RiskFlagType, ...] = (
    "persistent_absence",
    "severe_absence",
    "penalty_notice_threshold",
    "long_sickness",
    "continuous_absence_10_days",
    "part_time_review_overdue",
    "part_time_past_end",
)
SchoolDays = Annotated[int, Field(ge=1, le=60)]


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9 ]{7,19}$")


class SummarySettings(BaseModel):
    """Regular attendance summaries to every parent: on by default, half-termly."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    frequency: SummaryFrequency = Field(
        "half_termly", description="half_termly, monthly or termly, by the school's calendar"
    )
    # The named person parents are asked to talk to; the attendance lead when unset.
    contact: Person | None = None


class SchoolNotificationSettings(BaseModel):
    """What a school switches on and tunes. Every field has a default, so a school that never
    set anything gets the statutory follow-up."""

    model_config = ConfigDict(extra="forbid")

    first_day_alerts: bool = True
    chase_after_school_days: list[SchoolDays] = Field(default_factory=lambda: [2, 4], max_length=10)
    # None: the school's own N limit from the register (unexplained_absence_days, 5 by default).
    lead_after_school_days: SchoolDays | None = None
    worker_notices: bool = True
    lead_flags: list[RiskFlagType] = Field(
        default_factory=lambda: list(DEFAULT_LEAD_FLAGS), max_length=len(RISK_FLAG_TYPES)
    )
    early_support: bool = True
    # Each decision on a leave-of-absence request (agreed, partly agreed, refused, reduced,
    # cancelled) is written to the parents.
    leave_decisions: bool = True
    # A register still not taken a while after it closed (register-service's setting) is
    # reminded to the attendance lead.
    missing_register_reminders: bool = True
    attendance_lead: Person | None = None
    summaries: SummarySettings = Field(default_factory=SummarySettings)
    # Sender identity: the name parents see on e-mails, where replies go, and the Notify SMS
    # sender id registered for the school (Notify's `sms_sender_id`).
    sender_name: str | None = Field(None, max_length=100)
    reply_to_email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    sms_sender_id: str | None = Field(None, pattern=r"^[0-9a-fA-F-]{36}$")

    @field_validator("chase_after_school_days")
    @classmethod
    def _distinct_and_sorted(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class YearCalendars:
    """A school's calendars by academic year; a year without one counts every weekday."""

    def __init__(self, calendars: dict[int, SchoolCalendar]) -> None:
        self._calendars = calendars
        self._weekdays = WeekdayCalendar()

    def of(self, day: date) -> Calendar:
        return self._calendars.get(academic_year_of(day), self._weekdays)

    def is_school_day(self, day: date) -> bool:
        return self.of(day).is_school_day(day)

    def school_days_since(self, day: date, today: date) -> int:
        """School days after `day` up to and including `today`: an N from Monday has stood
        two school days on Wednesday."""
        count, current = 0, day
        while current < today:
            current += timedelta(days=1)
            count += self.is_school_day(current)
        return count


def register_closes_at(day: date, closes: time) -> datetime:
    return datetime.combine(day, closes, tzinfo=SCHOOL_TIME_ZONE).astimezone(UTC)


def in_quiet_hours(at: datetime, start: time, end: time) -> bool:
    local = at.astimezone(SCHOOL_TIME_ZONE).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def after_quiet_hours(at: datetime, start: time, end: time) -> datetime:
    """`at`, or the end of the quiet hours it falls in (England time, so across clock changes)."""
    if not in_quiet_hours(at, start, end):
        return at
    local = at.astimezone(SCHOOL_TIME_ZONE)
    release_day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(release_day, end, tzinfo=SCHOOL_TIME_ZONE).astimezone(UTC)


QUIET_CHANNELS: frozenset[str] = frozenset({"sms", "push"})


def retry_delay_s(attempts: int, *, base_s: float, max_s: float) -> float:
    """Exponential backoff after the `attempts`-th failed attempt."""
    return float(min(max_s, base_s * 2 ** max(attempts - 1, 0)))
