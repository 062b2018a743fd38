"""Ten minutes' worth of requests with every service hanging: memory stays bounded, and what was
dropped is counted.

Hanging is the worst way to be down for memory: a refused connection fails fast and the queues
drain by failing, while a service that never answers lets every queue fill to its limit.
"""
import re

import pytest

from tests.reliability.conftest import rss_kib, worker_pids

pytestmark = pytest.mark.live
REQUESTS = 50_000
CHUNKS = 10
# By a fifth of the run every queue is full (watchtower's 10,000 lines per worker come first):
# from then on a worker's memory may only wobble.
SETTLED_CHUNK = 2
MAX_GROWTH_KIB = 8 * 1024


def test_fifty_thousand_requests_with_every_service_hanging_keep_memory_bounded(stack, loader, figures):
    for name, front in stack.fronts.items():
        front.set("stalled" if name == "xray" else "slow")
    server = stack.gunicorn().start()
    pids = worker_pids(server)
    rss = {pid: [] for pid in pids}
    failures = []
    for _ in range(CHUNKS):
        run = loader(server.url, REQUESTS // CHUNKS)
        failures += run.failures
        for pid in pids:
            rss[pid].append(rss_kib(pid))
    output = server.stop()

    growth = {pid: max(samples[SETTLED_CHUNK:]) - samples[SETTLED_CHUNK] for pid, samples in rss.items()}
    # Every worker tells what it dropped, once, at exit: log lines beyond watchtower's limit,
    # and spans beyond the batch processor's.
    dropped = [int(count) for count in re.findall(r"\((\d+) dropped from a full queue", output)]
    spans_lost = [int(lost) for lost, _ in re.findall(r"opentelemetry: (\d+) of (\d+) spans not delivered", output)]
    figures.add("Load: 50 000 requests, every service hanging", {
        "requests": REQUESTS, "failed": len(failures),
        "peak RSS per worker (MiB)": round(max(max(samples) for samples in rss.values()) / 1024, 1),
        "growth after the queues filled (MiB)": round(max(growth.values()) / 1024, 1),
        "log lines dropped (full queue)": sum(dropped), "spans not delivered": sum(spans_lost),
    })

    assert failures == []
    assert all(kib <= MAX_GROWTH_KIB for kib in growth.values()), rss
    assert len(dropped) == len(pids) and all(count > 0 for count in dropped), output[-3000:]
    assert len(spans_lost) == len(pids) and all(spans_lost)
    assert "Traceback" not in output
