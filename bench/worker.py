"""One gunicorn worker of an app under test, pinned to its own core."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench import agents
from bench.variants import HOME, Variant
from tests.processes import BACKEND_DIR, free_port

REPO = BACKEND_DIR.parent
# gunicorn settings to compare, `class-workers[xthreads]`; the first is the side-by-side
# setting of issue 12, Cruddur's gthread setting before issue 26, on one worker (--threads 1: more
# would turn sync into gthread). `gevent-1` is gunicorn.conf.py's own worker class, as shipped.
SERVERS = {
    "gthread-1x4": ("--worker-class", "gthread", "--workers", "1", "--threads", "4"),
    "gthread-2x4": ("--worker-class", "gthread", "--workers", "2", "--threads", "4"),
    "sync-1": ("--worker-class", "sync", "--workers", "1", "--threads", "1"),
    "sync-2": ("--worker-class", "sync", "--workers", "2", "--threads", "1"),
    "gevent-1": ("--workers", "1"),
}
ONE_WORKER = next(iter(SERVERS))
GEVENT = "gevent-1"


class Worker:
    """`gunicorn APP` from backend-flask/ (so its gunicorn.conf.py applies) on a loopback port,
    under a peer's launcher from the peer's own virtualenv when the variant is a peer.

    Output (console spans, log lines) goes to `output`, a file, for every variant alike.
    """

    def __init__(self, variant: Variant, env: dict[str, str], output: Path, cpus: str = "0",
                 server: str = ONE_WORKER):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{variant.path}"
        self.output = output
        bin = agents.venv(variant.agent) if variant.agent else Path(sys.executable).parent
        self.command = ["taskset", "-c", cpus, *(str(bin / name) for name in (*variant.launcher, "gunicorn")),
                        "--bind", f"127.0.0.1:{self.port}", "--pythonpath", str(REPO), *SERVERS[server], variant.app]
        self.env = env

    def start(self, timeout: float = 120) -> Worker:  # a loaded 2-core machine starts ADOT slowly
        with self.output.open("w") as out:
            self.process = subprocess.Popen(self.command, cwd=BACKEND_DIR, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        try:
            return self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, timeout: float) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited early:\n{self.output.read_text()}")
            try:
                # The first request also starts Cruddur's telemetry.
                requests.get(self.url, timeout=5).raise_for_status()
                return self
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError(f"{self.command} did not answer within {timeout}s:\n{self.output.read_text()}")

    def pids(self) -> list[int]:
        """The worker processes (taskset execs gunicorn, and so do the agents' launchers, so the
        Popen pid is gunicorn's arbiter)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(Path(f"/proc/{pid}/stat")) for pid in self.pids())

    def stop(self, timeout: float = 30) -> str:
        """SIGTERM, so the workers flush their telemetry as in production; returns the output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
        return self.output.read_text()


def cpu_seconds(stat: Path) -> float:
    """User and system time from a /proc stat file: a process's (all its threads) or one thread's."""
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")
