from datetime import time

from pydantic import SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "notification"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", populate_by_name=True)

    dispatch_batch_size: int = 100
    dispatch_idle_poll_s: float = 0.2
    # How often stored state is checked for chases that have fallen due.
    planner_interval_s: float = 60.0
    # A register posted late (an MIS catching up after an outage) still alerts parents and
    # workers "that day" if it is at most this many days old; older ones are left to chasing.
    late_register_alert_days: int = 0
    # No SMS or push between these England times; such messages wait until the end.
    quiet_hours_start: time = time(20, 0)
    quiet_hours_end: time = time(8, 0)
    # Temporary failures are retried after retry_base_s, doubling up to retry_max_s.
    retry_base_s: float = 30.0
    retry_max_s: float = 3600.0
    max_attempts: int = 12

    # Regular summaries: analytics answers each pupil's figures; a period's summaries are
    # planned once it has ended, if it ended at most summary_catch_up_days ago (a service
    # started in March does not send the autumn's), and stored this many pupils at a time.
    analytics_url: str = "http://127.0.0.1:8002"
    analytics_timeout_s: float = 30.0
    analytics_retries: int = 3
    # Off: summaries go only when staff send a period's batch (POST /attendance-summaries).
    summaries_scheduled: bool = True
    summary_interval_s: float = 300.0
    summary_catch_up_days: int = 7
    summary_pupils_per_commit: int = 250

    # E-mail over SMTP; with no host, e-mails go to the log channel (reported by /readyz).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from_address: str = "attendance@localhost"
    smtp_timeout_s: float = 10.0

    # SMS through GOV.UK Notify; with no API key, SMS go to the log channel.
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_api_key: SecretStr = SecretStr("")
    # A Notify template whose whole text is ((body)): our own templates fill it.
    notify_sms_template_id: str = ""
    notify_timeout_s: float = 10.0
    notify_status_poll_s: float = 60.0

    # Signed webhook to a mobile push gateway; with no URL, push goes to the log channel.
    push_webhook_url: str = ""
    push_webhook_secret: SecretStr = SecretStr("")
    push_timeout_s: float = 10.0

    @field_validator("quiet_hours_start", "quiet_hours_end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> object:
        return time.fromisoformat(value) if isinstance(value, str) else value
