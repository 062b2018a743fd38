"""A throwaway PostgreSQL server on a loopback port: Debian's initdb and pg_ctl on a temp dir.

It keeps its port across stop() and start(), so "back" means the same URL works again.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import psycopg

from tests.processes import free_port

# Debian's server binaries are not on PATH: the newest installed major version.
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))
USER = "cruddur"
# Far from UTC, so a timestamp that comes back in UTC was converted, not just left alone.
SERVER_TIMEZONE = "Pacific/Kiritimati"


def binaries() -> Path | None:
    return BIN_DIRS[-1] if BIN_DIRS and (BIN_DIRS[-1] / "initdb").exists() else None


class PostgresServer:
    def __init__(self):
        self.bin = binaries()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="cruddur-pg-"))
        self.data = self.dir / "data"
        self.databases = 0
        self.template: str | None = None
        self.running = False
        # PostgreSQL refuses to run as root: as root (in a container), it runs as Debian's postgres user.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, text=True,
                       user=self.user, timeout=60)

    def start(self) -> PostgresServer:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                   f"-c fsync=off -c timezone={SERVER_TIMEZONE}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start")
        self.running = True
        return self

    def stop(self) -> None:
        """A fast shutdown: open connections are closed, as when RDS fails over or restarts."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def freeze(self) -> None:
        """SIGSTOP the postmaster and its backends, as a paused VM or a cut network looks mid-session:
        the kernel still accepts connections and acknowledges what is sent, and nothing answers."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signum)  # first, so that a frozen postmaster starts no new backend
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # "pid (name) state ppid ...": the name may hold spaces and parentheses.
                if int(stat.read_text().rpartition(")")[2].split()[1]) == postmaster:
                    os.kill(int(stat.parent.name), signum)
            except (OSError, ValueError):  # a process that ended meanwhile
                pass

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, template: str = "template1") -> str:
        """A new database, a copy of `template`: each test gets its own (empty, from template1)."""
        self.databases += 1
        name = f"cruddur_{self.databases}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name} TEMPLATE {template}")  # names made here, never input
        return self.url(name)

    def migrated_database(self, migrate: Callable[[str], None]) -> str:
        """A new database already migrated and seeded: a copy of one that `migrate(url)` migrated
        once per server (copying a template is a file copy; migrating is every statement again)."""
        if not self.template:
            url = self.fresh_database()
            migrate(url)  # which must leave no connection open: a template in use cannot be copied
            self.template = url.rsplit("/", 1)[1]
        return self.fresh_database(self.template)

    def close(self) -> None:
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def __exit__(self, *exc) -> None:
        self.close()
