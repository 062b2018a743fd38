"""Where a worker's time goes under load: CPU per thread, and py-spy samples by owner."""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.worker import cpu_seconds

PY_SPY = Path(sys.executable).parent / "py-spy"
RATE_HZ = 100
# A sample's time belongs to the innermost frame from one of these, by path. Everything
# else (the standard library, werkzeug, protobuf, botocore, urllib3...) works for its caller.
OWNERS = [
    ("/cruddur/observability/", lambda path: f"Cruddur observability: {Path(path).name}"),
    ("/cruddur/", lambda path: "Cruddur routes, services, data"),
    ("/opentelemetry/instrumentation/", lambda path: "OpenTelemetry instrumentation (Flask, WSGI)"),
    ("/opentelemetry/exporter/", lambda path: "OpenTelemetry OTLP exporter"),
    ("/opentelemetry/", lambda path: "OpenTelemetry SDK and API"),
    ("/aws_xray_sdk/", lambda path: "X-Ray SDK"),
    ("/watchtower/", lambda path: "watchtower"),
    ("/rollbar/", lambda path: "Rollbar SDK"),
    ("/flask_cors/", lambda path: "flask-cors"),
    ("/flask/", lambda path: "Flask"),
    ("/gunicorn/", lambda path: "gunicorn (sockets, HTTP)"),
]
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*):(?P<line>\d+)\)$")


@dataclass(frozen=True)
class Profile:
    requests: int
    thread_cpu: Counter  # CPU seconds by thread name, from /proc
    samples: int         # py-spy samples taken while some thread held the GIL
    owners: Counter
    leaves: Counter      # samples by innermost function


def owner(frames: list[str]) -> str:
    for frame in reversed(frames):
        match = FRAME.match(frame)
        if match:
            for marker, name in OWNERS:
                if marker in match["path"]:
                    return name(match["path"])
    return "other (interpreter, standard library)"


def short(frame: str) -> str:
    """`function (package/module.py:line)`, without the site-packages or repository prefix."""
    match = FRAME.match(frame)
    if not match:
        return frame
    path = re.sub(r"^.*/(site-packages|lib/python3\.\d+|backend-flask)/", "", match["path"])
    return f"{match['function']} ({path}:{match['line']})"


def samples(raw: str) -> tuple[Counter, Counter]:
    """py-spy's raw (collapsed) stacks, `thread (id): name;frame;…;frame count`, by owner and by leaf."""
    owners, leaves = Counter(), Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        _thread, *frames = stack.split(";")
        owners[owner(frames)] += int(count)
        leaves[short(frames[-1]) if frames else "?"] += int(count)
    return owners, leaves


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of `pid`, by thread id."""
    return {int(task.name): cpu_seconds(task / "stat") for task in Path(f"/proc/{pid}/task").iterdir()}


def thread_names(pid: int) -> dict[int, str]:
    """Python's names for the threads of `pid` (the kernel only knows them all as the program)."""
    for _ in range(3):  # py-spy fails now and then to read a running process
        dump = subprocess.run([str(PY_SPY), "dump", "--pid", str(pid)], capture_output=True, text=True)
        if dump.returncode == 0:
            # `Thread 1234 (idle): "MainThread"`; the state can also read `active+gil`.
            return {int(tid): name for tid, name in re.findall(r'^Thread (\d+) \([^)]*\): "(.*)"$', dump.stdout, re.M)}
    return {}  # the threads are then shown by id


def record(pid: int, seconds: int, output: Path, cpus: str) -> subprocess.Popen:
    """Start sampling whichever thread of `pid` holds the GIL, for `seconds`."""
    if not PY_SPY.exists():
        raise SystemExit(f"{PY_SPY} is missing: pip install -r bench/requirements.txt")
    return subprocess.Popen(
        ["taskset", "-c", cpus, str(PY_SPY), "record", "--pid", str(pid), "--duration", str(seconds),
         "--rate", str(RATE_HZ), "--format", "raw", "--threads", "--gil", "--full-filenames", "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def summarise(raw: str, requests: int, before: dict[int, float], after: dict[int, float],
              names: dict[int, str]) -> Profile:
    cpu = Counter()
    for tid, seconds in after.items():
        cpu[names.get(tid, f"thread {tid}")] += seconds - before.get(tid, 0)
    owners, leaves = samples(raw)
    return Profile(requests, cpu, sum(owners.values()), owners, leaves)
