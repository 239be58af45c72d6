from pydantic_settings import SettingsConfigDict

from attendance_shared.rules.thresholds import DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS
from attendance_shared.settings import CommonSettings

SERVICE_NAME = "analytics"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", populate_by_name=True)

    # Rate-based flags (persistent, severe) wait until a pupil has this many possible sessions.
    min_possible_sessions_for_flags: int = DEFAULT_MIN_POSSIBLE_SESSIONS_FOR_RATE_FLAGS
    consumer_max_records: int = 5000
