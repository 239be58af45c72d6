from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "la-returns"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="LA_RETURNS_", extra="ignore", populate_by_name=True)

    analytics_url: str = "http://127.0.0.1:8002"
    analytics_timeout_s: float = 10.0
    analytics_retries: int = 3
    # Schools fetched from analytics at once while compiling: enough to overlap the round
    # trips, few enough not to crowd out analytics' own work.
    analytics_concurrency: int = 4
    # support-service, for the casework section of a Targeting Support Meeting pack.
    support_url: str = "http://127.0.0.1:8005"
    support_timeout_s: float = 10.0
    support_retries: int = 3
    # How often the scheduler looks for scheduled returns that are due.
    schedule_interval_s: float = 60.0
