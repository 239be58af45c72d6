"""Small helpers for child processes and ports."""

import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, *, timeout_s: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}; see {log}:\n{tail(log)}")
        if port_is_open(port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout_s}s; see {log}:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop_process(process: subprocess.Popen | None, *, timeout_s: float, signal_name: str = "SIGTERM") -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.Signals[signal_name])
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
