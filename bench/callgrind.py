"""`python -m bench.callgrind`: a variant's instructions per request, counted by callgrind.

The app is served in process (bench/drive.py: Flask's test client, no gunicorn, no sockets
of its own) under `valgrind --tool=callgrind --instr-atstart=no`, pointed at the same
loopback peers as `python -m bench`. Instrumentation is switched on (callgrind_control)
only after start-up and `--warmup` requests, and the counters dumped right after
`--requests` more: every thread the app runs (exporters included) is counted, so the
figure repeats to about 1% however busy the machine is.
"""
from __future__ import annotations

import argparse
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench import agents
from bench.peers import Peers
from bench.variants import BY_KEY, Variant
from bench.worker import REPO
from tests.processes import BACKEND_DIR

TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.M)


def instructions(variant: Variant, env: dict[str, str], warmup: int, requests: int, out: Path) -> int:
    """Instructions executed while the app served `requests` requests, after `warmup` others."""
    bin = agents.venv(variant.agent) if variant.agent else Path(sys.executable).parent
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
               f"--callgrind-out-file={out}/{variant.key}.%p",
               *(str(bin / name) for name in variant.launcher), str(bin / "python"),
               "-m", "bench.drive", variant.app, variant.path, str(warmup), str(requests)]
    # A fixed hash seed: dicts and sets laid out alike from run to run, so their probing costs the same.
    env = {**env, "PYTHONPATH": os.pathsep.join([str(REPO), str(BACKEND_DIR)]), "PYTHONHASHSEED": "0"}
    driver = subprocess.Popen(command, cwd=BACKEND_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)

    # Read on a thread of its own: the app's log lines and console spans share the driver's
    # stdout, and a full pipe would block the app while callgrind_control waits on it.
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, driver.stdout), lines.put(None)], daemon=True).start()

    def step(expected: str, control: str) -> None:
        while (line := lines.get(timeout=600)) is not None and line.strip() != expected:
            pass
        if line is None:
            raise SystemExit(f"{variant.key} under callgrind exited before {expected!r}: exit {driver.wait()}")
        subprocess.run(["callgrind_control", control, str(driver.pid)], check=True, capture_output=True, timeout=120)
        driver.stdin.write("\n")
        driver.stdin.flush()

    try:
        step("ready", "--instr=on")
        step("done", "--dump")
        driver.stdin.close()
        driver.wait(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    (dump,) = out.glob(f"{variant.key}.{driver.pid}.1")  # the first dump: only the measured requests
    return int(TOTALS.search(dump.read_text()).group(1))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.callgrind", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="a,f,c", help=f"keys, comma-separated, of {','.join(BY_KEY)}")
    parser.add_argument("--requests", type=int, default=1000, help="the requests counted")
    parser.add_argument("--warmup", type=int, default=50, help="requests served before counting starts")
    args = parser.parse_args(argv)
    variants = [BY_KEY[key] for key in args.variant.split(",")]
    with tempfile.TemporaryDirectory(prefix="cruddur-callgrind-") as workdir, Peers() as peers:
        for variant in variants:
            with peers.session(variant) as session:
                counted = instructions(variant, session.env, args.warmup, args.requests, Path(workdir))
            print(f"{variant.key}\t{counted / args.requests / 1e6:.3f} M instructions/request\t{variant.label}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
