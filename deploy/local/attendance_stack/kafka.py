"""Apache Kafka in KRaft mode, run from the jars `make install` fetches with Maven.

One node is controller and broker at once (`make run`, the tests); three such nodes on
loopback make the fault suite's cluster. A node's log lives in its data folder, formatted
once: started again on the same folder, it keeps its topics and every group's offsets.
"""

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from attendance_stack.processes import free_port, port_is_open, stop_process, tail

if TYPE_CHECKING:
    from attendance_stack.security import KafkaSecurity

# Where the Makefile's `install` puts the jars (.venv/opt/kafka/libs); KAFKA_LIBS overrides.
KAFKA_LIBS = Path(os.environ.get("KAFKA_LIBS") or Path(sys.prefix) / "opt" / "kafka" / "libs")
READY_LINE = b"Kafka Server started"

LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
# The line the stack waits for, and what an operator wants to see of a start and a stop.
logger.server.name = kafka.server
logger.server.level = INFO
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
# One line per append on a topic that is being created or deleted: noise at WARN.
logger.fetcher.name = kafka.server.ReplicaFetcherThread
logger.fetcher.level = ERROR
"""


def classpath() -> str:
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        raise RuntimeError(f"no Kafka jars in {KAFKA_LIBS}: run `make install` (it fetches them with Maven)")
    return f"{KAFKA_LIBS}/*"


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    binary = Path(home) / "bin" / "java" if home else shutil.which("java")
    if not binary:
        raise RuntimeError("no `java` on PATH: Apache Kafka needs a JDK 17 or newer")
    return str(binary)


# Kafka's own command-line tools, by the names of their scripts in Kafka's release.
TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-storage": "kafka.tools.StorageTool",
}


def _tool_command(main_class: str, *args: str) -> list[str]:
    return [java(), "-Xmx256m", f"-Dlog4j2.configurationFile={_tool_logging()}", "-cp", classpath(), main_class, *args]


def run_tool(main_class: str, *args: str) -> str:
    """One of Kafka's command-line tools (kafka-storage, kafka-topics, ...) by its main class."""
    done = subprocess.run(_tool_command(main_class, *args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{main_class} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def new_cluster_id() -> str:
    """What `kafka-storage random-uuid` prints (16 random bytes, base64url, unpadded), without a JVM."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):  # Kafka never makes one a command line would read as a flag
            return cluster_id


@dataclass(frozen=True)
class NodeAddress:
    node_id: int
    port: int
    controller_port: int

    @property
    def voter(self) -> str:
        return f"{self.node_id}@127.0.0.1:{self.controller_port}"


class KafkaNode:
    """One KRaft node, controller and broker, listening on loopback only."""

    def __init__(
        self,
        address: NodeAddress,
        data_dir: Path,
        *,
        voters: list[NodeAddress],
        log: Path,
        extra_config: dict[str, str] | None = None,
        heap_mb: int = 512,
        security: "KafkaSecurity | None" = None,
    ) -> None:
        self.address = address
        self.security = security
        self.data_dir = data_dir.resolve()
        self.voters = voters
        self.extra_config = extra_config or {}
        self.heap_mb = heap_mb
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def node_id(self) -> int:
        return self.address.node_id

    @property
    def bootstrap_server(self) -> str:
        return f"127.0.0.1:{self.address.port}"

    def properties(self) -> dict[str, str]:
        replicas = min(3, len(self.voters))
        min_in_sync = str(min(2, replicas))
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": ",".join(v.voter for v in self.voters),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.address.port},CONTROLLER://127.0.0.1:{self.address.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.address.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # Topics come from attendance_shared.topics only, never from a client's metadata request.
            "auto.create.topics.enable": "false",
            # The internal topics as replicated as the cluster allows: one node, one copy.
            "offsets.topic.replication.factor": str(replicas),
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": min_in_sync,
            "share.coordinator.state.topic.replication.factor": str(replicas),
            "share.coordinator.state.topic.min.isr": min_in_sync,
            "default.replication.factor": str(replicas),
            "min.insync.replicas": min_in_sync,
            # A replica that is not in sync never becomes leader: that would lose acknowledged writes.
            "unclean.leader.election.enable": "false",
            # Groups form at once; Kafka's default waits 3 s for more members to join.
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.num.partitions": "10",
            **self._security_properties(),
            **self.extra_config,
        }

    def _security_properties(self) -> dict[str, str]:
        if self.security is None:
            return {}
        return self.security.broker_properties(self.address.port, self.address.controller_port)

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir.parent / f"kafka-{self.node_id}.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in self.properties().items()))
        (self.data_dir.parent / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
        return config

    def format(self, cluster_id: str) -> None:
        users = self.security.format_args() if self.security else []
        run_tool("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self._write_config()), *users)

    def start(self) -> None:
        """Start the process; `wait_ready` waits for it."""
        config = self._write_config()
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    java(),
                    f"-Xms{self.heap_mb // 2}m",
                    f"-Xmx{self.heap_mb}m",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    # The client compiler only: a broker that lives for a test run or a working
                    # day spent half its CPU under the bench's load in C2 compiler threads, and
                    # an isolated produce-and-consume run took 8 µs of broker CPU per event with
                    # C1 alone against 18 µs with both. A long-lived production broker (Strimzi)
                    # keeps the JVM's defaults. Not when secured: TLS's AES-GCM then ran without
                    # C2's intrinsics, 128 to 133 µs of broker CPU per mark event in the bench
                    # (3 days flat out) against 76 µs with both compilers.
                    *([] if self.security else ["-XX:TieredStopAtLevel=1"]),
                    # G1 sizes regions at 1 MB for this heap, so every produce request over 512 KB
                    # (the relay packs up to 512 KB a partition) was a humongous object, and G1's
                    # concurrent cycles took a quarter of the broker's CPU in the bench. With 8 MB
                    # regions an isolated run took 14 µs of broker CPU per event instead of 21.
                    "-XX:G1HeapRegionSize=8m",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={self.data_dir.parent / 'log4j2.properties'}",
                    "-cp",
                    classpath(),
                    "kafka.Kafka",
                    str(config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ready(self) -> bool:
        if self.process is None:
            return False
        if self.process.poll() is not None:
            raise RuntimeError(f"Kafka node {self.node_id} exited with {self.process.returncode}:\n{tail(self.log)}")
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return READY_LINE in log.read() and port_is_open(self.address.port)

    def stop(self, timeout_s: float = 30) -> None:
        """A controlled shutdown: leadership moves away and the log is closed cleanly."""
        stop_process(self.process, timeout_s=timeout_s)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


class KafkaCluster:
    """`size` KRaft nodes on loopback, each controller and broker, formatted once under `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        size: int = 1,
        ports: list[int] | None = None,
        controller_ports: list[int] | None = None,
        log_dir: Path | None = None,
        extra_config: dict[str, str] | None = None,
        heap_mb: int = 512,
        security: "KafkaSecurity | None" = None,
    ) -> None:
        ports = ports or [free_port() for _ in range(size)]
        controller_ports = controller_ports or [free_port() for _ in ports]
        addresses = [
            NodeAddress(i + 1, port, controller)
            for i, (port, controller) in enumerate(zip(ports, controller_ports, strict=True))
        ]
        self.data_dir = data_dir.resolve()
        self.security = security
        log_dir = log_dir or self.data_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.nodes = [
            KafkaNode(
                a,
                self.data_dir / f"node-{a.node_id}",
                voters=addresses,
                log=log_dir / f"kafka-{a.node_id}.log",
                extra_config=extra_config,
                heap_mb=heap_mb,
                security=security,
            )
            for a in addresses
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_server for node in self.nodes)

    @property
    def process(self) -> subprocess.Popen | None:
        """The first node's process, the only one of a one-node cluster (the bench reads its CPU)."""
        return self.nodes[0].process

    def node(self, node_id: int) -> KafkaNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def start(self, timeout_s: float = 90) -> None:
        if not all(node.formatted for node in self.nodes):
            cluster_id = new_cluster_id()
            for node in self.nodes:
                if not node.formatted:
                    node.format(cluster_id)
        for node in self.nodes:
            if node.process is None:
                node.start()
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = 90, nodes: list[KafkaNode] | None = None) -> None:
        waiting = list(nodes or self.nodes)
        deadline = time.monotonic() + timeout_s
        while waiting:
            waiting = [node for node in waiting if not node.ready()]
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(
                    f"Kafka node(s) {[n.node_id for n in waiting]} not ready within {timeout_s}s:\n"
                    f"{tail(waiting[0].log)}"
                )
            time.sleep(0.1)

    def restart(self, node: KafkaNode, timeout_s: float = 90) -> None:
        node.start()
        self.wait_ready(timeout_s, [node])

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            node.stop()


def exec_tool(name: str, args: list[str]) -> None:
    """Replace this process with one of Kafka's own tools, run from the jars `make install` fetched."""
    command = _tool_command(TOOLS[name], *args)
    os.execv(command[0], command)


def _tool_logging() -> Path:
    """Warnings only: at INFO the tools print every client setting before their answer."""
    path = KAFKA_LIBS.parent / "tools-log4j2.properties"
    if not path.exists():
        path.write_text(LOG4J2_PROPERTIES.replace("logger.server.level = INFO", "logger.server.level = WARN"))
    return path
