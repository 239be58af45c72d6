from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "register"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTER_", extra="ignore", populate_by_name=True)

    max_marks_per_register: int = 5000
    relay_batch_size: int = 5000
