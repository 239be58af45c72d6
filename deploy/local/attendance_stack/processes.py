"""Small helpers for child processes and ports."""

import random
import signal
import socket
import subprocess
import time
from pathlib import Path

LOWEST_PORT = 10_000
_handed_out: set[int] = set()  # by this process: two servers of one stack never get the same port


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A port nothing listens on now, for a server about to start. Chosen below the kernel's
    ephemeral range: a port from `bind(0)` comes from that range, which every outgoing
    connection also takes from, so the stack's own clients (to PostgreSQL, the broker) could
    take it before its server bound it, and the server failed with "address already in use"."""
    low, _ = _ephemeral_ports()
    for _ in range(1000):
        port = random.randrange(LOWEST_PORT, max(low, LOWEST_PORT + 1000))
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port from {LOWEST_PORT} to {low} after 1,000 tries")


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
