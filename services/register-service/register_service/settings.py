from pydantic import Field
from pydantic_settings import SettingsConfigDict

from attendance_shared.settings import CommonSettings

SERVICE_NAME = "register"


class Settings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTER_", extra="ignore", populate_by_name=True)

    # Rows in one request: a register, or all the registers of a bulk request together.
    max_marks_per_register: int = 20000
    # How long a retry with the same Idempotency-Key still gets the first answer.
    idempotency_key_ttl_hours: int = 24
    relay_batch_size: int = 5000
    # A register still without a mark this long after it closed is reminded (an event for
    # notification-service); 0 turns the reminder off.
    missing_register_reminder_minutes: int = Field(30, ge=0, le=24 * 60)
    missing_register_check_interval_s: float = Field(60, gt=0)
