from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "support"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore", populate_by_name=True)

    # An open case with no contact recorded for this many school days is listed as overdue
    # for contact (LA advisers check home visits weekly; a fortnight is the default).
    contact_overdue_school_days: int = 10
    # How often plans whose review date has come are looked for, to publish "review due".
    review_check_interval_s: float = 300.0
