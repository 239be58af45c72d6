from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "support"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore", populate_by_name=True)

    # An open case with no contact recorded for this many school days is listed as overdue
    # for contact (LA advisers check home visits weekly; a fortnight is the default).
    contact_overdue_school_days: int = 10
    # The register (the legal record of marks) and analytics (figures), over HTTP.
    register_url: str = "http://127.0.0.1:8001"
    analytics_url: str = "http://127.0.0.1:8002"
    upstream_timeout_s: float = 10.0
    upstream_retries: int = 3
    # How often running Notices to Improve are checked against the pupil's marks (each is
    # judged once a day).
    notice_check_interval_s: float = 300.0
    # How often newly opened cases are looked for, to read their pupil's marks of the year
    # from the register (from then on the marks topic keeps them).
    marks_load_interval_s: float = 5.0
    # How often plans whose review date has come are looked for, to publish "review due".
    review_check_interval_s: float = 300.0
