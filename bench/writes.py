"""`python -m bench.writes`: what flushing stdout after every JSON line costs, system time included.

callgrind counts user-space instructions only, so the kernel's share of a write(2) per line is
invisible to it. This writes Cruddur's access line (the longer of a request's two) N times to a
file on local disk, as a worker's stdout is under `make bench`, through a TextIOWrapper like
sys.stdout, flushing after every line (logging.StreamHandler) or leaving the buffer to fill; and
prints the process's CPU time (user + system, from os.times) per line for each, best of 5.
"""
import argparse
import io
import os
import tempfile

LINE = ('{"level": "INFO", "logger": "cruddur.access", "message": "GET /api/activities/home 200", '
        '"remote_addr": "127.0.0.1", "method": "GET", "scheme": "http", "path": "/api/activities/home", '
        '"status": 200, "duration_ms": 5.123, "trace_id": "6b11d1f6d233adf8b42e725732c0f8f8", '
        '"time": "2026-12-03T20:32:54.598366+00:00"}\n')


def cpu_per_line_us(lines: int, flush: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="cruddur-writes-") as folder:
        with open(os.path.join(folder, "out.log"), "wb") as raw:
            stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", line_buffering=False)
            before = os.times()
            for _ in range(lines):
                stream.write(LINE)
                if flush:
                    stream.flush()
            stream.flush()
            after = os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return cpu * 1e6 / lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    for flush in (True, False):
        best = min(cpu_per_line_us(args.lines, flush) for _ in range(5))
        print(f"{'flush every line' if flush else 'buffered':>16}: {best:.2f} µs CPU a line")


if __name__ == "__main__":
    main()
