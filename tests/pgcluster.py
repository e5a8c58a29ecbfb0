"""A throwaway PostgreSQL cluster for tests: `initdb` in a temporary folder, `pg_ctl` on a free
loopback port, stopped and removed afterwards. PostgreSQL refuses to run as root, so as root the
server runs as `nobody`; clients connect over TCP to 127.0.0.1 only."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

ADMIN = "postgres"  # the cluster's superuser: what only an administrator can do in a test
OWNER = "dutydesk"  # the role dutydesk connects as: owns its database, no superuser


def binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None when PostgreSQL is not installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One running cluster; `database()` makes a fresh, empty database owned by `OWNER`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        # not under pytest's tmp_path: its folders are private to root, and the server is not root
        self.folder = Path(tempfile.mkdtemp(prefix="dutydesk-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        os.chmod(self.folder, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "nobody", "nogroup")
        self._run("initdb", "-D", self.data, "-U", ADMIN, "-A", "trust", "-E", "UTF8", "--no-instructions")
        settings = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=on -c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", self.data, "-o", settings, "-l", self.folder / "log", "-w", "-t", "30", "start"
        )
        self.admin(self.url("postgres"), (f"CREATE ROLE {OWNER} LOGIN", ()))

    def _run(self, tool: str, *args: object) -> None:
        command = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60, cwd=self.folder)

    def url(self, database: str, user: str = OWNER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def admin(self, url: str, *statements: tuple[str, tuple[object, ...]]) -> None:
        """Run statements as the superuser on the database at `url` (a test's tampering)."""
        with psycopg.connect(url.replace(f"//{OWNER}@", f"//{ADMIN}@"), autocommit=True) as conn:
            for sql, args in statements:
                conn.execute(sql.encode() if not args else sql, args)  # type: ignore[arg-type]

    def database(self) -> str:
        """A new database owned by `OWNER`; returns its URL."""
        name = f"log{next(self._names)}"
        self.admin(self.url("postgres"), (f"CREATE DATABASE {name} OWNER {OWNER}", ()))
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
