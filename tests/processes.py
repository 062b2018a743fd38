"""Start the real backend under gunicorn, on a port it picks itself, for live tests."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BACKEND_DIR = Path(__file__).resolve().parent.parent / "backend-flask"


# What the server prints once it has bound: gunicorn's master, or Werkzeug's `flask run`.
BOUND = re.compile(r"Listening at: http://[\d.]+:(\d+)|Running on http://127\.0\.0\.1:(\d+)")
# A test's gunicorn is one of many on this machine: none of them needs the control socket,
# whose one default path every gunicorn would take over from the one before.
GUNICORN_CMD_ARGS = "--no-control-socket"


def free_port() -> int:
    """A port free now, for servers that cannot bind port 0 and tell what they got (bind-then-close:
    another socket may take it before the server binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn app:app` (or `command`) from backend-flask/ (or `cwd`), with this venv first on PATH and `env` on top
    (a variable given as None is unset).

    Each server has a SQLite file of its own, removed with it, unless `env` names a DATABASE_URL.
    It binds port 0, so the kernel picks a free port as it binds, and `port` and `url` are what
    the server says it got (no free port found beforehand, which another socket could take first).
    """

    def __init__(self, env: dict[str, str] | None = None, workers: int = 2, command: list[str] | None = None,
                 cwd: Path = BACKEND_DIR):
        self.port: int | None = None
        self.url: str | None = None
        self.process: subprocess.Popen | None = None  # until start()
        venv_bin = str(Path(sys.executable).parent)
        self.database_dir = tempfile.TemporaryDirectory(prefix="cruddur-db-")
        self.env = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                    "PORT": "0", "FLASK_RUN_PORT": "0", "WEB_CONCURRENCY": str(workers),
                    "GUNICORN_CMD_ARGS": GUNICORN_CMD_ARGS,
                    "DATABASE_URL": f"sqlite:///{self.database_dir.name}/cruddur.db", **(env or {})}
        # None in `env` unsets a variable of this process's environment.
        self.env = {name: value for name, value in self.env.items() if value is not None}
        self.command = command or ["gunicorn", "app:app"]
        self.workers = workers if self.command[0] == "gunicorn" else 1
        self.cwd = cwd

    def start(self, timeout: float = 30) -> Gunicorn:
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server. Append
        # mode, because the server shares the file offset that reading moves.
        self.log = tempfile.TemporaryFile(mode="a+")
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )
        try:
            return self._wait_until_ready(timeout)
        except BaseException:
            self.stop()  # never leave a server behind a failed start
            raise

    def _wait_until_ready(self, timeout: float) -> Gunicorn:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.read_output()}")
            if self.port is None:
                bound = BOUND.search(self.read_output())
                if bound is None:
                    time.sleep(0.05)
                    continue
                self.port = int(bound.group(1) or bound.group(2))
                self.url = f"http://127.0.0.1:{self.port}"
            try:
                if requests.get(f"{self.url}/api/health", timeout=1).ok and self.apps_built() >= self.workers:
                    return self
            # A worker still importing the app accepts the connection but answers late.
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{self.read_output()}")

    def apps_built(self) -> int:
        """Workers that have built the app: each logs its integrations' status once."""
        return self.read_output().count("rollbar: ")

    def read_output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self, timeout: float = 20) -> str:
        """SIGTERM, as Docker and gunicorn's graceful shutdown expect; returns all output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        output = self.read_output()
        self.log.close()
        self.database_dir.cleanup()
        return output

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.output = self.stop()
