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
from attendance_shared.kafka import ensure_topics
from attendance_stack.kafka import KafkaCluster
from attendance_stack.postgres import EmbeddedPostgres
from attendance_stack.processes import free_port, stop_process, tail

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
    # Broker settings on top of the stack's own (a test's short retention check, say).
    kafka_config: dict[str, str] = field(default_factory=dict)
    # Processes per service; the register's relay and the consumers coordinate across them
    # (advisory lock, consumer group), as replicas do in Kubernetes.
    workers: dict[str, int] = field(default_factory=dict)
    # Which services to start (all by default); the benchmark can time one on its own.
    services: tuple[str, ...] = SERVICES

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
        self.logs = config.data_dir / "logs"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.config.service_ports[service]}"

    def service_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "LA_RETURNS_ANALYTICS_URL": self.url("analytics"),
            "LA_RETURNS_SUPPORT_URL": self.url("support"),
            "SUPPORT_REGISTER_URL": self.url("register"),
            "SUPPORT_ANALYTICS_URL": self.url("analytics"),
            "NOTIFICATION_ANALYTICS_URL": self.url("analytics"),
            **self.config.extra_env,
        }

    def start(self, timeout_s: float = 90) -> None:
        started = time.monotonic()
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._start_postgres()
            self._start_broker()
            self.say("creating topics")
            asyncio.run(ensure_topics(self.kafka_bootstrap_servers, topics.ALL_TOPICS))
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
            self.config.data_dir / "postgres" / "data", self.config.postgres_port, durable=self.config.durable
        )
        self.say(f"starting PostgreSQL on 127.0.0.1:{self.config.postgres_port}")
        self.postgres.start()
        if not self.postgres.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"):
            self.postgres.psql(f"CREATE DATABASE {DATABASE_NAME}")
        self.database_url = self.postgres.url(DATABASE_NAME)

    def _start_broker(self) -> None:
        if self.kafka_bootstrap_servers:
            self.say("using the Kafka cluster at KAFKA_BOOTSTRAP_SERVERS")
            return
        self.broker = KafkaCluster(
            self.config.data_dir / "kafka",
            ports=[self.config.broker_port],
            controller_ports=[self.config.controller_port],
            log_dir=self.logs,
            extra_config=self.config.kafka_config,
        )
        self.say(f"starting Apache Kafka (KRaft, one node) on 127.0.0.1:{self.config.broker_port}")
        self.broker.start()
        self.kafka_bootstrap_servers = self.broker.bootstrap_servers

    def _start_service(self, service: str) -> None:
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
            env=self.service_env(),
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

    def start_service(self, service: str, timeout_s: float = 60) -> None:
        """Start a service that was killed or never started, and wait until it is ready."""
        self._start_service(service)
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
