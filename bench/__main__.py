"""`python -m bench`: issue 23's side-by-side benchmark, printed and written to docs/benchmarks.md.

Every variant, the four peers included, runs under one gunicorn gthread worker of four
threads (Cruddur's setting before issue 26, which ships gevent: its own section compares the two) pinned to core 0, with wrk and the loopback peers on core 1; rounds are interleaved (a, b, c, … then again) and each
figure is the median of the rounds. Each measurement gets a fresh worker whose stdout
and stderr go to a file on local disk, for every variant alike.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

from bench import agents
from bench.load import Load, wrk
from bench.peers import Peers
from bench.profile import Profile, record, summarise, thread_cpu, thread_names
from bench.report import (Measurement, Row, cheapest_peer, machine, main_table, markdown, ratios_table, targets, tax,
                          verdict, write_doc)
from bench.variants import BY_KEY, DEFAULT, Variant
from bench.worker import GEVENT, ONE_WORKER, SERVERS, Worker, rss_mib

WORKER_CPUS, LOAD_CPUS = "0", "1"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(DEFAULT),
                        help=f"keys to run, in this order, of {','.join(BY_KEY)}")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8, help="wrk's duration per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load before each measurement (≥ 1)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--scaling", default="",
                        help="other connection counts for (a), the cheapest peer and (c); '' skips")
    parser.add_argument("--memory-requests", type=int, default=10_000, help="for (c)'s RSS; 0 skips")
    parser.add_argument("--profile-seconds", type=int, default=15, help="py-spy on (c); 0 skips")
    parser.add_argument("--servers", default="",
                        help=f"other gunicorn settings to run (c) under, of {','.join(SERVERS)}; '' skips")
    parser.add_argument("--worker-connections", default="1,8,32",
                        help="connection counts at which (c) runs under gevent-1 and gthread-1x4 (issue 26); '' skips")
    parser.add_argument("--doc", default=str(DOC), help="file to write the results into; '' skips")
    args = parser.parse_args(argv)
    keys, args.servers = args.variants.split(","), [name for name in args.servers.split(",") if name]
    unknown = [name for name in keys if name not in BY_KEY] + [name for name in args.servers if name not in SERVERS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    args.variants = [BY_KEY[key] for key in keys]
    args.scaling = [int(n) for n in args.scaling.split(",") if n]
    args.worker_connections = [int(n) for n in args.worker_connections.split(",") if n]
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, peers: Peers, workdir: Path):
        self.args, self.peers, self.workdir = args, peers, workdir

    def worker(self, variant: Variant, session, name: str, server: str = ONE_WORKER) -> Worker:
        return Worker(variant, session.env, self.workdir / f"{name}.log", cpus=WORKER_CPUS, server=server).start()

    def load(self, worker: Worker, seconds: int, connections: int | None = None) -> Load:
        return wrk(worker.url, connections or self.args.connections, seconds, cpus=LOAD_CPUS)

    def measure(self, variant: Variant, connections: int, server: str) -> Measurement:
        with self.peers.session(variant) as session:
            worker = self.worker(variant, session, f"{variant.key}-c{connections}", server)
            try:
                answered = 1 + self.load(worker, self.args.warmup, connections).requests
                cpu = worker.cpu_seconds()
                load = self.load(worker, self.args.seconds, connections)
                cpu_ms = (worker.cpu_seconds() - cpu) * 1000 / max(load.requests, 1)
            finally:
                output = worker.stop()
        measurement = Measurement(variant, connections, load, cpu_ms, session.lost(answered + load.requests, output),
                                  session.received(), session.db_spans())
        print(f"  {variant.key:>3} c={connections:<3} {server}: {load.rps:7.0f} req/s  p50 {load.p50_ms:6.1f} ms  "
              f"p99 {load.p99_ms:6.1f} ms  CPU {cpu_ms:5.2f} ms/req  non-2xx {load.non2xx}  "
              f"lost {measurement.lost}  received {measurement.received}", file=sys.stderr)
        return measurement

    def rounds(self, cases: dict[str, tuple[Variant, str]], connections: int) -> dict[str, Row]:
        """Each case (a variant under a gunicorn setting) once per round, interleaved; their medians."""
        runs: dict[str, list[Measurement]] = {key: [] for key in cases}
        for number in range(1, self.args.rounds + 1):
            print(f"round {number}/{self.args.rounds}, {connections} connections", file=sys.stderr)
            for key, (variant, server) in cases.items():
                runs[key].append(self.measure(variant, connections, server))
        return {key: Row.of(measurements) for key, measurements in runs.items()}

    def memory(self) -> str:
        """(c)'s worker RSS after warm-up and after at least the wanted number of requests."""
        variant, wanted = BY_KEY["c"], self.args.memory_requests
        with self.peers.session(variant) as session:
            worker = self.worker(variant, session, "memory")
            try:
                answered = 1 + self.load(worker, self.args.warmup).requests
                (pid,) = worker.pids()
                before = rss_mib(pid)
                loads = []
                while sum(load.requests for load in loads) < wanted:
                    loads.append(self.load(worker, self.args.seconds))
                after = rss_mib(pid)
            finally:
                output = worker.stop()
        requests = sum(load.requests for load in loads)
        lost = session.lost(answered + requests, output)
        failures = sum(load.non2xx + load.socket_errors + load.untraced for load in loads)
        return (f"(c), one gthread worker × 4 threads, wrk -c{self.args.connections}: RSS {before:.1f} MiB after warm-up, "
                f"**{after:.1f} MiB after {answered + requests:,} requests** ({after - before:+.1f} MiB). "
                f"Answers that failed or lacked X-Trace-Id: {failures}; spans or access lines that "
                f"never arrived: {lost}.")

    def profile(self) -> tuple[Profile, Load]:
        variant, seconds = BY_KEY["c"], self.args.profile_seconds
        raw = self.workdir / "profile.txt"
        with self.peers.session(variant) as session:
            worker = self.worker(variant, session, "profile")
            try:
                self.load(worker, self.args.warmup)
                (pid,) = worker.pids()
                before = thread_cpu(pid)
                spy = record(pid, seconds, raw, cpus=LOAD_CPUS)
                load = self.load(worker, seconds)
                after, names = thread_cpu(pid), thread_names(pid)
                _, errors = spy.communicate(timeout=60)
                if spy.returncode:
                    raise RuntimeError(f"py-spy failed: {errors}")
            finally:
                worker.stop()
        return summarise(raw.read_text(), load.requests, before, after, names), load


def scaling_table(by_connections: dict[int, dict[str, Row]], keys: list[str]) -> str:
    """req/s, p99 and tax of bare Flask, the cheapest peer and (c) at each concurrency."""
    header, rows = ["connections"], []
    for key in keys:
        header += [f"({key}) req/s", f"({key}) p99 ms", f"({key}) tax ms/req"]
    for connections, rows_at in sorted(by_connections.items()):
        cells = [str(connections)]
        for key in keys:
            row = rows_at[key]
            cells += [f"{row.rps:.0f}", f"{row.p99_ms:.1f}", f"{tax(rows_at, row):.2f}"]
        rows.append(cells + [str(sum(row.non2xx for row in rows_at.values()))])
    return markdown(header + ["non-2xx"], rows)


def servers_table(rows: dict[str, Row]) -> str:
    first = next(iter(rows.values()))
    return markdown(["gunicorn", "req/s", f"× {next(iter(rows))}", "p50 ms", "p99 ms", "CPU ms/req", "non-2xx"],
                    [[name, f"{row.rps:.0f}", f"{row.rps / first.rps:.2f}", f"{row.p50_ms:.1f}", f"{row.p99_ms:.1f}",
                      f"{row.cpu_ms:.2f}", str(row.non2xx + row.socket_errors)] for name, row in rows.items()])


def workers_section(by_connections: dict[int, dict[str, Row]]) -> str:
    """Issue 26's cost: the shipped gevent worker against the gthread setting it replaced, in the same run."""
    header = ["connections", "gthread p99 ms", "gevent p99 ms", "p99 ×", "gthread CPU ms/req", "gevent CPU ms/req",
              "CPU ×", "gthread req/s", "gevent req/s", "non-2xx", "gthread core used", "gevent core used"]
    lines, checks = [], []
    for connections, rows in sorted(by_connections.items()):
        old, new = rows[ONE_WORKER], rows[GEVENT]
        p99, cpu = new.p99_ms / old.p99_ms, new.cpu_ms / old.cpu_ms
        lines.append([str(connections), f"{old.p99_ms:.1f}", f"{new.p99_ms:.1f}", f"{p99:.2f}", f"{old.cpu_ms:.2f}",
                      f"{new.cpu_ms:.2f}", f"{cpu:.2f}", f"{old.rps:.0f}", f"{new.rps:.0f}",
                      str(sum(row.non2xx + row.socket_errors for row in rows.values())),
                      f"{old.rps * old.cpu_ms / 10:.0f}%", f"{new.rps * new.cpu_ms / 10:.0f}%"])
        checks += [(f"{connections} connections: gevent's CPU per request ≤ 1.05× gthread's", cpu <= 1.05,
                    f"**{cpu:.2f}×**, limit 1.05×"),
                   (f"{connections} connections: gevent's p99 ≤ 1.2× gthread's", p99 <= 1.2, f"**{p99:.2f}×**, limit 1.2×")]
    note = ("Core used: req/s × CPU per request. Below 100% under a closed load, the worker waited: for the "
            "network, or for its core, when other processes run there (one gevent thread gets a smaller share "
            "of a busy core than gthread's several threads).")
    return "\n\n".join([markdown(header, lines), note, verdict(checks)])


def profile_section(profile: Profile, load: Load) -> str:
    def escaped(name: str) -> str:
        return name.replace("|", "\\|")

    cpu_total = sum(profile.thread_cpu.values())
    return "\n\n".join([
        f"(c) under `wrk -c{load.connections}` for {load.seconds:.0f} s while py-spy sampled it "
        f"({load.rps:.0f} req/s with the profiler attached). The worker's CPU by thread, from /proc: "
        f"{1000 * cpu_total / profile.requests:.2f} ms per request in all.",
        markdown(["thread", "CPU ms/request", "share"],
                 [[escaped(name), f"{1000 * seconds / profile.requests:.3f}", f"{100 * seconds / cpu_total:.0f}%"]
                  for name, seconds in profile.thread_cpu.most_common() if seconds > 0]),
        f"py-spy `--gil` ({profile.samples} samples of whichever thread held the GIL) by whose code asked "
        "for the time: the innermost frame of one of these owners, the standard library and lower-level "
        "packages counting for their caller.",
        markdown(["owner", "share of samples"],
                 [[escaped(name), f"{100 * count / profile.samples:.1f}%"] for name, count in profile.owners.most_common()]),
        "Hottest functions (self time):",
        markdown(["function", "share of samples"],
                 [[escaped(name), f"{100 * count / profile.samples:.1f}%"]
                  for name, count in profile.leaves.most_common(12)]),
    ])


def main(argv: list[str]) -> None:
    args = arguments(argv)
    if os.cpu_count() < 2:
        raise SystemExit("the benchmark needs two cores: one for the worker, one for wrk and the peers")
    os.sched_setaffinity(0, {int(LOAD_CPUS)})  # the peers' threads stay off the worker's core
    for variant in args.variants:
        if variant.agent:
            agents.venv(variant.agent)  # before any measurement: installing takes the load's core
    with tempfile.TemporaryDirectory(prefix="cruddur-bench-") as workdir, Peers() as peers:
        bench = Bench(args, peers, Path(workdir))
        rows = bench.rounds({variant.key: (variant, ONE_WORKER) for variant in args.variants}, args.connections)
        cheapest = cheapest_peer(rows)
        scaled = [key for key in ("a", cheapest and cheapest.variant.key, "c") if key in rows]
        scaling = {args.connections: rows}
        if "a" in scaled and len(scaled) > 1:
            for connections in args.scaling:
                scaling[connections] = bench.rounds({key: (BY_KEY[key], ONE_WORKER) for key in scaled}, connections)
        servers = bench.rounds({name: (BY_KEY["c"], name) for name in args.servers}, args.connections)
        if servers and "c" in rows:
            servers = {ONE_WORKER: rows["c"], **servers}
        workers = {connections: bench.rounds({name: (BY_KEY["c"], name) for name in (ONE_WORKER, GEVENT)}, connections)
                   for connections in args.worker_connections}
        memory = bench.memory() if args.memory_requests else None
        profiled = bench.profile() if args.profile_seconds else None

    command = shlex.join(["python", "-m", "bench", *argv])
    sections = [
        f"Command: `{command}` (`make bench` runs it with the defaults). {args.rounds} interleaved rounds of "
        f"{args.seconds} s after {args.warmup} s of warm-up; medians. One gunicorn gthread worker × 4 threads "
        f"(keep-alive) pinned to core {WORKER_CPUS}, `wrk -t1 -c{args.connections}` and the loopback peers on core "
        f"{LOAD_CPUS}, `GET /api/activities/home`; workers' stdout and stderr to a file on local disk. "
        "Tax: CPU ms/req minus bare Flask's on the same store.",
        machine(),
        f"### Side by side ({args.connections} connections)",
        main_table(rows),
        "### Targets of issue 23",
        verdict(targets(rows)),
    ]
    if ratios := ratios_table(rows):
        sections += ["### Each tax as a ratio", ratios]
    if len(scaling) > 1:
        sections += ["### Cost with load", scaling_table(scaling, scaled)]
    if servers:
        sections += [f"### gunicorn settings for (c), all on core {WORKER_CPUS}",
                     "`gthread-2x4` is two gthread workers of four threads each, `sync-1` one sync worker (no "
                     "keep-alive); the first row is (c) from the table above.",
                     servers_table(servers)]
    if workers:
        sections += ["### Worker: gevent (shipped) against gthread (issue 26)",
                     f"(c) under `gevent-1`, gunicorn.conf.py's gevent worker, and `gthread-1x4`, the setting it "
                     f"replaced, each one worker on core {WORKER_CPUS}, interleaved in the same rounds; medians.",
                     workers_section(workers)]
    if memory:
        sections += ["### Memory", memory]
    if profiled:
        sections += ["### Where (c)'s time goes", profile_section(*profiled)]
    generated = "\n\n".join(sections)
    print(generated)
    if args.doc:
        write_doc(Path(args.doc), generated)


if __name__ == "__main__":
    main(sys.argv[1:])
