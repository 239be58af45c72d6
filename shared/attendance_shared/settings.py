"""Settings on pydantic-settings. Platform-wide settings (database, broker, auth secret,
environment) are read unprefixed; each service's own settings carry its prefix.

Secrets come from the environment or from files mounted in SECRETS_DIR, one file a setting,
named as the variable (for example `/run/secrets/attendance/AUTH_JWT_SECRET`): Kubernetes
Secrets mount that way, and a file never shows in `ps` or a crash dump of the environment."""

import os
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "development-only-secret-change-me-0123456789"
SECRETS_DIR = os.environ.get("SECRETS_DIR", "/run/secrets/attendance")


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, secrets_dir=SECRETS_DIR if os.path.isdir(SECRETS_DIR) else None
    )

    environment: Literal["development", "test", "production"] = Field("development", validation_alias="ENVIRONMENT")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:55432/attendance", validation_alias="DATABASE_URL"
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # How long a silent consumer keeps its partitions before the group gives them to another.
    kafka_consumer_session_timeout_ms: int = Field(10_000, validation_alias="KAFKA_CONSUMER_SESSION_TIMEOUT_MS")
    # How long the broker may hold a fetch that finds nothing new. Kafka answers as soon as a
    # record arrives, so this only sets how often an idle consumer asks again.
    kafka_consumer_fetch_max_wait_ms: int = Field(500, validation_alias="KAFKA_CONSUMER_FETCH_MAX_WAIT_MS")
    jwt_secret: str = Field(DEVELOPMENT_JWT_SECRET, validation_alias="AUTH_JWT_SECRET")
    jwt_issuer: str = Field("attendance-platform", validation_alias="AUTH_JWT_ISSUER")
    jwt_audience: str = Field("attendance-api", validation_alias="AUTH_JWT_AUDIENCE")
    # The longest a token may live from issue to expiry: a day for people, an hour for a
    # service (services mint a fresh short one for each call). Longer ones are refused.
    max_token_lifetime_s: int = Field(24 * 3600, ge=60, validation_alias="AUTH_MAX_TOKEN_LIFETIME_S")
    max_service_token_lifetime_s: int = Field(3600, ge=60, validation_alias="AUTH_MAX_SERVICE_TOKEN_LIFETIME_S")
    # The identity provider's RS256 keys for people's tokens (production); unset: HS256 only.
    jwks_url: str | None = Field(None, validation_alias="AUTH_JWKS_URL")
    # Bigger bodies are refused with 413 before they are read into memory.
    max_request_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, validation_alias="MAX_REQUEST_BODY_BYTES")
    # Per token, on the endpoints a parent may call: a sustained rate and a burst on top.
    parent_rate_per_minute: int = Field(120, ge=1, validation_alias="PARENT_RATE_LIMIT_PER_MINUTE")
    parent_rate_burst: int = Field(30, ge=1, validation_alias="PARENT_RATE_LIMIT_BURST")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    db_pool_size: int = Field(10, validation_alias="DB_POOL_SIZE")

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> "CommonSettings":
        if self.environment == "production" and self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("AUTH_JWT_SECRET must be set to a real secret in production")
        return self
