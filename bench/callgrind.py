"""`python -m bench.callgrind`: a variant's instructions per request, counted by callgrind.

The app is served in process (bench/drive.py: Flask's test client, no gunicorn, no sockets
of its own) under `valgrind --tool=callgrind --instr-atstart=no`, pointed at the same
loopback peers as `python -m bench`. Instrumentation is switched on (callgrind_control)
only after start-up and `--warmup` requests, and the counters dumped right after
`--requests` more: every thread the app runs (exporters included) is counted, so the
figure repeats to about 1% however busy the machine is.

`--gunicorn` counts the same under gunicorn instead: one worker on gunicorn.conf.py's settings with
the gthread worker × 4 threads that the side-by-side runs use (bench/worker.py; `--server gevent-1`
for the shipped gevent worker), valgrind on the
worker, the requests sent over keep-alive connections from 4 client threads (`--connections`).
With 4, bare Flask and the zero-code agent count one of two figures from run to run (their requests
meet the worker's poll loop at different moments: bare Flask 4.07 or 4.30 M); with 1, no row is
bimodal, and each moves by 1.5% at most from run to run. The batch processors' schedule delay is
set to 10 minutes for every row, so batches fill by size, as at a few hundred requests a second
under wrk, instead of every few requests at valgrind's speed; the spans still queued at the dump
(less than one batch) are not counted. The metric readers' interval is set to 10 minutes too: a
worker exports once an interval whatever its rate, so a request pays for its recording alone.
"""
from __future__ import annotations

import argparse
import functools
import http.client
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import agents
from bench.peers import Peers
from bench.variants import BY_KEY, Variant
from bench.worker import ONE_WORKER, REPO, SERVERS, Worker
from tests.processes import BACKEND_DIR

TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.M)
# The app's own code and Cruddur's, importable from a child started anywhere.
PYTHONPATH = os.pathsep.join([str(REPO), str(BACKEND_DIR)])
# No scheduled export or collection during a count: batches fill by size, metrics wait 10 minutes.
LONG_DELAYS = {"OTEL_BSP_SCHEDULE_DELAY": "600000", "OTEL_BLRP_SCHEDULE_DELAY": "600000",
               "OTEL_METRIC_EXPORT_INTERVAL": "600000"}


def instructions(variant: Variant, env: dict[str, str], warmup: int, requests: int, out: Path) -> int:
    """Instructions executed while the app served `requests` requests, after `warmup` others."""
    bin = agents.venv(variant.agent) if variant.agent else Path(sys.executable).parent
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
               f"--callgrind-out-file={out}/{variant.key}.%p",
               *(str(bin / name) for name in variant.launcher), str(bin / "python"),
               "-m", "bench.drive", variant.app, variant.path, str(warmup), str(requests)]
    # A fixed hash seed: dicts and sets laid out alike from run to run, so their probing costs the same.
    env = {**env, "PYTHONPATH": PYTHONPATH, "PYTHONHASHSEED": "0"}
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


def get(port: int, path: str, requests: int, connections: int) -> None:
    """`requests` GETs over `connections` keep-alive connections, each on a thread; fails on any non-200."""
    failures: list[BaseException] = []

    def serve(count: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            for _ in range(count):
                client.request("GET", path)
                with client.getresponse() as response:
                    response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{path}: {response.status}")
        except BaseException as error:
            failures.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=serve, args=(requests // connections + (i < requests % connections),))
               for i in range(connections)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    if failures:
        raise failures[0]


def served(variant: Variant, env: dict[str, str], warmup: int, requests: int, out: Path, connections: int,
           server: str) -> int:
    """Instructions a gunicorn worker (`server`, of bench.worker.SERVERS) executed serving `requests` requests
    over `connections`."""
    env = {**env, "PYTHONHASHSEED": "0", **LONG_DELAYS}
    worker = Worker(variant, env, out / f"{variant.key}.log", server=server)
    taskset = worker.command.index("taskset") + 3
    worker.command[taskset:taskset] = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
                                       f"--callgrind-out-file={out}/{variant.key}.%p"]
    worker.command += ["--timeout", "600"]  # gunicorn's heartbeat, at valgrind's speed
    with worker.output.open("w") as output:
        worker.process = subprocess.Popen(worker.command, cwd=BACKEND_DIR, env=env, stdout=output,
                                          stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 900
        while True:
            try:
                get(worker.port, variant.path, 1, connections=1)
                break
            except OSError:
                if worker.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{variant.key} did not start under callgrind:\n{worker.output.read_text()}")
                time.sleep(1)
        get(worker.port, variant.path, warmup, connections)
        pid = next(child for task in Path(f"/proc/{worker.process.pid}/task").iterdir()
                   for child in (task / "children").read_text().split())
        subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True, timeout=120)
        get(worker.port, variant.path, requests, connections)
        subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True, timeout=120)
    finally:
        worker.stop(timeout=120)
    return int(TOTALS.search((out / f"{variant.key}.{pid}.1").read_text()).group(1))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.callgrind", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="a,f,c", help=f"keys, comma-separated, of {','.join(BY_KEY)}")
    parser.add_argument("--requests", type=int, default=1000, help="the requests counted")
    parser.add_argument("--warmup", type=int, default=50, help="requests served before counting starts")
    parser.add_argument("--gunicorn", action="store_true", help="count a gunicorn worker's, not the test client's")
    parser.add_argument("--connections", type=int, default=4,
                        help="--gunicorn's keep-alive connections (1: each request waits for the one before)")
    parser.add_argument("--server", default=ONE_WORKER, choices=SERVERS,
                        help="--gunicorn's worker setting (gevent-1: gunicorn.conf.py's own)")
    args = parser.parse_args(argv)
    count = (functools.partial(served, connections=args.connections, server=args.server) if args.gunicorn
             else instructions)
    variants = [BY_KEY[key] for key in args.variant.split(",")]
    with tempfile.TemporaryDirectory(prefix="cruddur-callgrind-") as workdir, Peers() as peers:
        for variant in variants:
            with peers.session(variant) as session:
                counted = count(variant, session.env, args.warmup, args.requests, Path(workdir))
            print(f"{variant.key}\t{counted / args.requests / 1e6:.3f} M instructions/request\t{variant.label}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
