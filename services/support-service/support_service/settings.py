from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "support"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore", populate_by_name=True)

    # An open case with no contact recorded for this many school days is listed as overdue
    # for contact (LA advisers check home visits weekly; a fortnight is the default).
    contact_overdue_school_days: int = 10
