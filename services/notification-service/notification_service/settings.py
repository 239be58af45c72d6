from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "notification"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", populate_by_name=True)

    dispatch_batch_size: int = 100
    dispatch_idle_poll_s: float = 0.2
