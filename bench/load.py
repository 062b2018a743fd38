"""wrk, pinned to the other core, and what it measured."""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Load:
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    untraced: int  # answers without X-Trace-Id


def wrk(url: str, connections: int, seconds: float, cpus: str = "1") -> Load:
    result = subprocess.run(
        ["taskset", "-c", cpus, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
         "-s", str(SCRIPT), url],
        capture_output=True, text=True, check=True, timeout=seconds + 30)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return Load(
        connections=connections,
        seconds=summary["duration_us"] / 1e6,
        requests=summary["requests"],
        rps=summary["requests"] / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        non2xx=summary["non2xx"],
        socket_errors=summary["socket_errors"],
        untraced=summary["untraced"],
    )
