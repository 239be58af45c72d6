"""Settings on pydantic-settings. Platform-wide settings (database, broker, auth secret,
environment) are read unprefixed; each service's own settings carry its prefix.

Secrets come from the environment or from files mounted in SECRETS_DIR, one file a setting,
named as the variable (for example `/run/secrets/attendance/AUTH_JWT_SECRET`): Kubernetes
Secrets mount that way, and a file never shows in `ps` or a crash dump of the environment."""

import os
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from attendance_shared.acl import service_principal
from attendance_shared.kafka import KafkaClientConfig, SaslMechanism, SecurityProtocol

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
    # TLS and SASL towards the brokers. Production: SASL_SSL with SCRAM-SHA-512, each service
    # its own principal (its user name defaults to `<service>-service`, the name its ACLs use).
    kafka_security_protocol: SecurityProtocol = Field("PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: SaslMechanism = Field("SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str | None = Field(None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: str | None = Field(None, validation_alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: str | None = Field(None, validation_alias="KAFKA_SSL_CAFILE")
    kafka_ssl_certfile: str | None = Field(None, validation_alias="KAFKA_SSL_CERTFILE")
    kafka_ssl_keyfile: str | None = Field(None, validation_alias="KAFKA_SSL_KEYFILE")
    kafka_ssl_check_hostname: bool = Field(True, validation_alias="KAFKA_SSL_CHECK_HOSTNAME")
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

    @model_validator(mode="after")
    def _refuse_plain_sasl_in_production(self) -> "CommonSettings":
        if self.environment == "production" and self.kafka_sasl_mechanism == "PLAIN":
            # PLAIN sends the password itself on every connection; SCRAM never does.
            raise ValueError("KAFKA_SASL_MECHANISM=PLAIN is for local use only; use SCRAM-SHA-512 in production")
        return self

    def kafka_client(self, service: str) -> KafkaClientConfig:
        """The one connection setting every Kafka client of `service` uses. Checked here, not
        when the settings are read: the migrations read them too, and never reach Kafka."""
        if self.kafka_security_protocol.startswith("SASL_") and not self.kafka_sasl_password:
            raise ValueError(
                f"KAFKA_SASL_PASSWORD must be set with KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol}"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together (mutual TLS)")
        return KafkaClientConfig(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username or service_principal(service),
            password=self.kafka_sasl_password,
            # An empty value (a ConfigMap's way of leaving one unset) is unset.
            ca_file=self.kafka_ssl_cafile or None,
            cert_file=self.kafka_ssl_certfile or None,
            key_file=self.kafka_ssl_keyfile or None,
            check_hostname=self.kafka_ssl_check_hostname,
        )
