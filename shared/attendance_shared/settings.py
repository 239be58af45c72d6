"""Settings on pydantic-settings. Platform-wide settings (database, broker, auth secret,
environment) are read unprefixed; each service's own settings carry its prefix."""

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "development-only-secret-change-me-0123456789"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["development", "test", "production"] = Field("development", validation_alias="ENVIRONMENT")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:55432/attendance", validation_alias="DATABASE_URL"
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # How long a silent consumer keeps its partitions. The local broker (Tansu) also delays
    # every group join by a time that grows with it, so the local stack runs with 3 s.
    kafka_consumer_session_timeout_ms: int = Field(10_000, validation_alias="KAFKA_CONSUMER_SESSION_TIMEOUT_MS")
    jwt_secret: str = Field(DEVELOPMENT_JWT_SECRET, validation_alias="AUTH_JWT_SECRET")
    jwt_issuer: str = Field("attendance-platform", validation_alias="AUTH_JWT_ISSUER")
    jwt_audience: str = Field("attendance-api", validation_alias="AUTH_JWT_AUDIENCE")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    db_pool_size: int = Field(10, validation_alias="DB_POOL_SIZE")

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> "CommonSettings":
        if self.environment == "production" and self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("AUTH_JWT_SECRET must be set to a real secret in production")
        return self
