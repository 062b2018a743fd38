"""`python -m bench.locks`: what gevent's patched locks add to a request (issue 26).

The row is (c), the one issue 26 compares under both workers, unless `--variant` says otherwise.
Under gunicorn's gevent worker, `threading`'s locks are gevent's, written in Python: each acquire
is a call into gevent/thread.py, each new lock a Python object, and an RLock is threading's own
Python RLock over one. Two counts:
- the lock operations one request makes: cProfile's call counts over `--requests` requests through
  Flask's test client, patched as the worker patches, pointed at the benchmark's loopback peers
  (no export runs meanwhile: batches and intervals are set far beyond the run);
- callgrind's instructions for each kind of operation, patched and not: a loop of 1,000 and one of
  21,000, the difference divided by 20,000.
The first repeats exactly from run to run, the second to a few percent.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.callgrind import LONG_DELAYS, PYTHONPATH, TOTALS
from bench.peers import Peers
from bench.variants import BY_KEY
from bench.worker import REPO
from tests.processes import BACKEND_DIR

OPERATIONS = {"acquire": "a Lock's acquire and release", "rlock": "an RLock's acquire and release",
              "new": "a new Lock"}
# Patched before anything is imported, as gunicorn's gevent worker patches before it loads the app.
PATCHED = ["-m", "gevent.monkey", "--module"]
# No export at all during the count: not even a full batch.
NO_EXPORT = {**LONG_DELAYS, "OTEL_BSP_MAX_QUEUE_SIZE": "100000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "100000"}


def count(requests: int) -> dict[str, float]:
    """Lock operations per request of the app at the environment's settings, run patched (PATCHED)."""
    import queue

    from gevent import monkey
    from gevent.thread import LockType

    queue.Queue = monkey.get_original("queue", "Queue")  # as worker.py does
    from app import app  # backend-flask/app.py: create_app() with the environment's settings
    client = app.test_client()
    for _ in range(50):
        client.get("/api/activities/home")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        client.get("/api/activities/home")
    profile.disable()
    stats = pstats.Stats(profile).stats

    def key(function) -> tuple:
        return function.__code__.co_filename, function.__code__.co_firstlineno, function.__code__.co_name

    def calls(function) -> tuple:  # cProfile's (primitive calls, calls, own time, cumulative time, callers)
        return stats.get(key(function), (0, 0, 0.0, 0.0, {}))

    rlock_acquire = type(threading.RLock()).acquire  # threading's Python RLock, once patched
    acquires = calls(LockType.acquire)
    in_rlocks = acquires[4].get(key(rlock_acquire), (0, 0))[1]
    return {"acquire": (acquires[1] - in_rlocks) / requests, "rlock": calls(rlock_acquire)[1] / requests,
            "new": calls(LockType.__init__)[1] / requests}


def loop(operation: str, times: int) -> None:
    lock, rlock = threading.Lock(), threading.RLock()
    for _ in range(times):
        if operation == "acquire":
            with lock:
                pass
        elif operation == "rlock":
            with rlock:
                pass
        else:
            threading.Lock()


def instructions_each(patched: bool, operation: str, out: Path) -> float:
    def total(times: int) -> int:
        dump = out / f"{patched}-{operation}-{times}"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", sys.executable,
                        *(PATCHED if patched else ["-m"]), "bench.locks", "loop", operation, str(times)],
                       check=True, capture_output=True, cwd=REPO)
        return int(TOTALS.search(dump.read_text()).group(1))
    return (total(21_000) - total(1_000)) / 20_000


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.locks", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="the requests counted")
    parser.add_argument("--variant", default="c", help="the row whose requests are counted")
    args, rest = parser.parse_known_args(argv)
    if rest[:1] == ["loop"]:
        return loop(rest[1], int(rest[2]))
    if rest[:1] == ["count"]:
        return print(json.dumps(count(args.requests)))
    with Peers() as peers, peers.session(BY_KEY[args.variant]) as session:
        env = {**session.env, **dict(session.variant.env), **NO_EXPORT,
               "PYTHONPATH": PYTHONPATH}
        child = subprocess.run([sys.executable, *PATCHED, "bench.locks", "--requests", str(args.requests), "count"],
                               env=env, cwd=BACKEND_DIR, capture_output=True, text=True)
        if child.returncode:
            raise SystemExit(f"counting failed:\n{child.stderr}")
        per_request = json.loads(child.stdout.splitlines()[-1])
    with tempfile.TemporaryDirectory(prefix="cruddur-locks-") as out:
        rows = [(operation, per_request[operation], *(instructions_each(patched, operation, Path(out))
                                                      for patched in (False, True))) for operation in OPERATIONS]
    print(f"({args.variant}), {args.requests} requests: lock operations a request, instructions each (callgrind)\n")
    print("| operation | a request | threads | gevent | gevent's extra a request |\n|---|---|---|---|---|")
    for operation, times, threads, gevent in rows:
        print(f"| {OPERATIONS[operation]} | {times:.1f} | {threads:,.0f} | {gevent:,.0f} | "
              f"{times * (gevent - threads) / 1e6:.3f} M |")
    print(f"\ngevent's locks add {sum(t * (g - h) for _, t, h, g in rows) / 1e6:.3f} M instructions a request")


if __name__ == "__main__":
    main(sys.argv[1:])
