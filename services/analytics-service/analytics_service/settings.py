from pydantic_settings import SettingsConfigDict

from analytics_service.domain.flags import FlagRules
from attendance_shared.rules.thresholds import (
    AT_RISK_LOWER_PERCENT,
    AT_RISK_TREND_SCHOOL_WEEKS,
    DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS,
)
from attendance_shared.settings import CommonSettings

SERVICE_NAME = "analytics"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", populate_by_name=True)

    # Rate-based flags (persistent, severe) wait until a pupil has this many possible sessions.
    min_possible_sessions_for_flags: int = DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS
    consumer_max_records: int = 5000
    # A batch's pupil-years are held in memory together: a poll of a 20-school backlog at the
    # default 1 MiB a partition was 150 registers and every pupil, and 270 MB resident. A
    # quarter of it is still 6 registers a partition.
    consumer_max_partition_fetch_bytes: int = 256 * 1024
    # At risk of persistent absence: overall absence from this percentage up to the persistent
    # threshold, with attendance in the latest school weeks below the same span before them.
    at_risk_lower_percent: float = AT_RISK_LOWER_PERCENT
    at_risk_trend_school_weeks: int = AT_RISK_TREND_SCHOOL_WEEKS

    def flag_rules(self) -> FlagRules:
        return FlagRules(
            min_possible_sessions=self.min_possible_sessions_for_flags,
            at_risk_lower_percent=self.at_risk_lower_percent,
            at_risk_trend_weeks=self.at_risk_trend_school_weeks,
        )
