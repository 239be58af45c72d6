"""Start and stop the whole platform on one machine, as `make run` does."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from attendance_shared import topics
from attendance_shared.kafka import KafkaClientConfig, ensure_topics
from attendance_stack.kafka import KafkaCluster
from attendance_stack.postgres import EmbeddedPostgres
from attendance_stack.processes import free_port, stop_process, tail
from attendance_stack.security import KafkaSecurity, create_acls

SERVICES = ("register", "analytics", "notification", "la-returns", "support")
DEFAULT_PORTS = {"register": 8001, "analytics": 8002, "notification": 8003, "la-returns": 8004, "support": 8005}
APP_FACTORIES = {
    "register": "register_service.app:create_app",
    "analytics": "analytics_service.app:create_app",
    "notification": "notification_service.app:create_app",
    "la-returns": "la_returns_service.app:create_app",
    "support": "support_service.app:create_app",
}
DATABASE_NAME = "attendance"


@dataclass
class StackConfig:
    data_dir: Path
    postgres_port: int = 55432
    broker_port: int = 19092
    controller_port: int = 19093
    service_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    # Set these to use a PostgreSQL server or Kafka cluster that is already running.
    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    durable: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # PostgreSQL settings on top of the stack's own (the bench's profile loads pg_stat_statements).
    postgres_config: dict[str, str] = field(default_factory=dict)
    # Broker settings on top of the stack's own (a test's short retention check, say).
    kafka_config: dict[str, str] = field(default_factory=dict)
    # Processes per service; the register's relay and the consumers coordinate across them
    # (advisory lock, consumer group), as replicas do in Kubernetes.
    workers: dict[str, int] = field(default_factory=dict)
    # Which services to start (all by default); the benchmark can time one on its own.
    services: tuple[str, ...] = SERVICES
    # The broker as production runs it: TLS, SCRAM-SHA-512, a principal per service and the
    # ACLs of attendance_shared.acl (the end-to-end tests). Plaintext by default (`make run`).
    secured: bool = False

    @classmethod
    def on_free_ports(cls, data_dir: Path, **options: object) -> "StackConfig":
        """A stack beside any other on this machine: the tests' and the benchmark's."""
        return cls(
            data_dir=data_dir,
            postgres_port=free_port(),
            broker_port=free_port(),
            controller_port=free_port(),
            service_ports={service: free_port() for service in SERVICES},
            **options,  # type: ignore[arg-type]
        )

    @classmethod
    def from_environment(cls, data_dir: Path) -> "StackConfig":
        return cls(
            data_dir=data_dir,
            postgres_port=int(os.environ.get("STACK_POSTGRES_PORT", 55432)),
            broker_port=int(os.environ.get("STACK_BROKER_PORT", 19092)),
            controller_port=int(os.environ.get("STACK_CONTROLLER_PORT", 19093)),
            database_url=os.environ.get("DATABASE_URL") or None,
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            workers={"register": int(os.environ.get("STACK_REGISTER_WORKERS", 1))},
            secured=os.environ.get("STACK_KAFKA_SECURED", "") in ("1", "true", "yes"),
        )


class LocalStack:
    def __init__(self, config: StackConfig, *, say=print) -> None:
        self.config = config
        self.say = say
        self.postgres: EmbeddedPostgres | None = None
        self.broker: KafkaCluster | None = None
        self.services: dict[str, subprocess.Popen] = {}
        self.database_url = config.database_url or ""
        self.kafka_bootstrap_servers = config.kafka_bootstrap_servers or ""
        self.security: KafkaSecurity | None = None
        self.logs = config.data_dir / "logs"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.config.service_ports[service]}"

    @property
    def kafka(self) -> KafkaClientConfig:
        """How the stack itself, and a test, reach the broker: as its admin when secured."""
        if self.security:
            return self.security.client(self.kafka_bootstrap_servers)
        return KafkaClientConfig(self.kafka_bootstrap_servers)

    def tool_config(self) -> Path:
        """A client properties file for Kafka's own tools (`--command-config`, or the console
        consumer's `--consumer.config`): the admin's credentials when secured, else empty."""
        path = self.config.data_dir / "kafka-tools.properties"
        if self.security:
            return self.security.tool_properties(path)
        path.write_text("")
        return path

    def service_env(self, service: str | None = None) -> dict[str, str]:
        kafka_security = self.security.service_env(service) if self.security and service else {}
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "LA_RETURNS_ANALYTICS_URL": self.url("analytics"),
            "LA_RETURNS_SUPPORT_URL": self.url("support"),
            "SUPPORT_REGISTER_URL": self.url("register"),
            "SUPPORT_ANALYTICS_URL": self.url("analytics"),
            "NOTIFICATION_ANALYTICS_URL": self.url("analytics"),
            **kafka_security,
            **self.config.extra_env,
        }

    def start(self, timeout_s: float = 90) -> None:
        started = time.monotonic()
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._start_postgres()
            self._start_broker()
            self.say("creating topics")
            asyncio.run(ensure_topics(self.kafka, topics.ALL_TOPICS))
            if self.security:
                granted = asyncio.run(create_acls(self.kafka))
                self.say(f"granted {granted} ACLs: each service its own topics and group")
            self.say("migrating the services' schemas")
            subprocess.run(
                [sys.executable, "-m", "attendance_shared.migrations", *SERVICES],
                env=self.service_env(),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            for service in self.config.services:
                self._start_service(service)
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        self.say(f"{', '.join(self.config.services)} ready in {time.monotonic() - started:.1f}s")

    def _start_postgres(self) -> None:
        if self.database_url:
            self.say("using the PostgreSQL server at DATABASE_URL")
            return
        self.postgres = EmbeddedPostgres(
            self.config.data_dir / "postgres" / "data",
            self.config.postgres_port,
            durable=self.config.durable,
            config=self.config.postgres_config,
        )
        self.say(f"starting PostgreSQL on 127.0.0.1:{self.config.postgres_port}")
        self.postgres.start()
        if not self.postgres.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"):
            self.postgres.psql(f"CREATE DATABASE {DATABASE_NAME}")
        self.database_url = self.postgres.url(DATABASE_NAME)

    def _start_broker(self) -> None:
        if self.kafka_bootstrap_servers:
            if self.config.secured:
                raise ValueError("a secured stack starts its own broker; KAFKA_BOOTSTRAP_SERVERS names another")
            self.say("using the Kafka cluster at KAFKA_BOOTSTRAP_SERVERS")
            return
        if self.config.secured:
            security_dir = self.config.data_dir / "kafka-security"
            if not security_dir.exists() and (self.config.data_dir / "kafka").exists():
                # The users' SCRAM credentials are written when the broker's log is formatted.
                raise RuntimeError(
                    f"{self.config.data_dir / 'kafka'} was formatted without its users: run the secured stack on a "
                    "fresh data folder (`python -m attendance_stack run --fresh`, which deletes it)"
                )
            self.security = KafkaSecurity.in_folder(security_dir)
        self.broker = KafkaCluster(
            self.config.data_dir / "kafka",
            ports=[self.config.broker_port],
            controller_ports=[self.config.controller_port],
            log_dir=self.logs,
            extra_config=self.config.kafka_config,
            security=self.security,
        )
        listener = "SASL_SSL, SCRAM-SHA-512 and ACLs" if self.security else "plaintext"
        self.say(f"starting Apache Kafka (KRaft, one node, {listener}) on 127.0.0.1:{self.config.broker_port}")
        self.broker.start()
        self.kafka_bootstrap_servers = self.broker.bootstrap_servers

    def _start_service(self, service: str, extra_env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{service}.log").open("ab")
        self.services[service] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                APP_FACTORIES[service],
                "--host",
                "127.0.0.1",
                "--port",
                str(self.config.service_ports[service]),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "20",
                "--workers",
                str(self.config.workers.get(service, 1)),
            ],
            env={**self.service_env(service), **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def _wait_ready(self, timeout_s: float, services: set[str] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = set(services or self.config.services)
        with httpx.Client(timeout=2) as client:
            while waiting and time.monotonic() < deadline:
                for service in sorted(waiting):
                    process = self.services[service]
                    if process.poll() is not None:
                        raise RuntimeError(f"{service}-service exited:\n{tail(self.logs / f'{service}.log')}")
                    try:
                        if client.get(f"{self.url(service)}/readyz").status_code == 200:
                            waiting.discard(service)
                            self.say(f"{service}-service ready at {self.url(service)}")
                    except httpx.TransportError:
                        pass
                time.sleep(0.2)
        if waiting:
            raise TimeoutError(f"not ready within {timeout_s}s: {', '.join(sorted(waiting))}")

    def kill_service(self, service: str) -> None:
        """SIGKILL a service's processes (its uvicorn and workers), as a node failure would."""
        process = self.services.pop(service)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def start_service(
        self, service: str, timeout_s: float = 60, *, extra_env: dict[str, str] | None = None, wait: bool = True
    ) -> None:
        """Start a service that was killed or never started, and wait until it is ready
        (`extra_env` on top of its usual environment: a wrong password, say)."""
        self._start_service(service, extra_env)
        if wait:
            self._wait_ready(timeout_s, {service})

    def dead_services(self) -> list[str]:
        return [name for name, process in self.services.items() if process.poll() is not None]

    def stop(self) -> None:
        for process in self.services.values():
            if process.poll() is None:
                process.terminate()
        for process in self.services.values():
            stop_process(process, timeout_s=25)
        self.services.clear()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
