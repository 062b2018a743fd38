"""A long load with every service hanging: a worker's memory stays bounded once its queues are full.

Hanging is the worst way to be down for memory: a refused connection fails fast and the queues
drain by failing, while a service that never answers lets every queue fill to its limit.

The queues' capacities are settings, so `make test` shrinks them and proves the bound with a few
thousand requests; `make reliability` keeps production's capacities and sends 50,000.
"""
import json

import pytest
import requests

from tests.reliability.conftest import FULL, REQUEST_BOUND_S, audited, not_the_daemons_datagram, rss_kib, worker_pids

pytestmark = pytest.mark.live
CHUNKS = 10
# Small capacities (the SDK's queues, and the rebuilt layer's CloudWatch and Rollbar bounds),
# each far below what a worker is offered by SETTLED_CHUNK.
# (The SDK refuses an export batch larger than its queue: the batches shrink with them.)
SMALL_QUEUES = {"OTEL_BSP_MAX_QUEUE_SIZE": "128", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "64",
                "OTEL_BLRP_MAX_QUEUE_SIZE": "128", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "64",
                "CLOUDWATCH_MAX_QUEUED_LINES": "100", "ROLLBAR_MAX_PENDING_ITEMS": "10"}
PER_REQUEST = ("OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_QUEUE_SIZE", "CLOUDWATCH_MAX_QUEUED_LINES")
REQUESTS, CAPACITIES = (50_000, {}) if FULL else (4_000, SMALL_QUEUES)
# By a fifth of the run every queue is full: from then on a worker's memory may only wobble
# (with production's capacities, watchtower's 10,000 lines per worker fill last).
SETTLED_CHUNK = 2
MAX_GROWTH_KIB = 8 * 1024


def test_a_long_load_with_every_service_hanging_keeps_memory_bounded(stack, loader, figures, tmp_path):
    for name, front in stack.fronts.items():
        front.set("stalled" if name == "xray" else "slow")
    (tmp_path / "audit").mkdir()
    audit = audited(stack.env(**CAPACITIES), tmp_path / "audit")
    server = audit.server.start()
    # Every integration took the small capacities and is on: its queue is the one being filled.
    assert set(requests.get(server.url + "/api/health", timeout=10).json()["integrations"].values()) == {"on"}
    pids = worker_pids(server)
    rss = {pid: [] for pid in pids}
    failures, slowest = [], 0.0
    for _ in range(CHUNKS):
        run = loader(server.url, REQUESTS // CHUNKS)
        failures += run.failures
        slowest = max(slowest, run.slowest)
        for pid in pids:
            rss[pid].append(rss_kib(pid))
    output = server.stop()

    growth = {pid: max(samples[SETTLED_CHUNK:]) - samples[SETTLED_CHUNK] for pid, samples in rss.items()}
    figures.add(f"Load: {REQUESTS:,} requests, every service hanging", {
        "requests": REQUESTS, "capacities": ", ".join(f"{k}={v}" for k, v in CAPACITIES.items()) or "production's",
        "failed": len(failures), "slowest (ms)": round(slowest * 1000, 1),
        "peak RSS per worker (MiB)": round(max(max(samples) for samples in rss.values()) / 1024, 1),
        "growth after the queues filled (MiB)": round(max(growth.values()) / 1024, 1),
    })

    assert failures == []
    assert slowest < REQUEST_BOUND_S, slowest
    # No request thread waited on a hanging service: none connected or sent, but the daemon's datagrams.
    sent = audit.new_records()
    assert sent and [record for record in sent if not_the_daemons_datagram(stack, record)] == []
    # Every request ends at least one span and one access line, and the workers share the load
    # about evenly: by SETTLED_CHUNK each worker was offered more than any queue holds.
    # (Rollbar's queue takes only /rollbar/test's reports, a few per worker: its bound is not proven here.)
    offered = REQUESTS * SETTLED_CHUNK // CHUNKS // len(pids)
    assert all(offered > 2 * int(CAPACITIES[name]) for name in PER_REQUEST if name in CAPACITIES)
    assert all(kib <= MAX_GROWTH_KIB for kib in growth.values()), rss
    assert "Traceback" not in output
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    started = [line for line in logged if {"integration", "enabled", "detail"} <= line.keys()]  # start-up lines
    assert len(started) >= 4 * len(pids) and all(line["enabled"] for line in started), started
