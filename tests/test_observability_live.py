"""The integrations under the real gunicorn process with two workers."""
import os
import re
import signal
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.peers.otlp import OtlpReceiver, last_points
from tests.peers.xray import XRayDaemon
from tests.processes import Gunicorn

pytestmark = pytest.mark.live
DURATION = "http.server.request.duration"


def served_by_pid(points: list[dict]) -> dict[int, int]:
    """The requests each worker has counted so far, by its pid (its metrics' resource)."""
    served = defaultdict(int)
    for point in last_points(points, DURATION).values():
        served[point["resource"]["process.pid"]] += point["count"]
    return served


def test_every_worker_exports_and_sigterm_flushes_every_span():
    with OtlpReceiver() as receiver, XRayDaemon() as daemon:
        server = Gunicorn({
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            # Longer than the test: whatever arrives was flushed by the shutdown.
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
            # Each worker's metrics say, meanwhile, how many requests it has served.
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        }, workers=2).start()
        responses = []
        # Which worker takes a connection is the kernel's choice: rounds of 8 until both have served,
        # 96 requests at most (fewer spans than a batch, so nothing is exported before the exit).
        while len(responses) < 96 and len(served_by_pid(receiver.points())) < 2:
            with ThreadPoolExecutor(8) as pool:
                responses += pool.map(lambda _: requests.get(
                    f"{server.url}/api/activities/home", headers={"Connection": "close"}, timeout=10), range(8))
            receiver.wait_for_points(lambda points: sum(served_by_pid(points).values()) == len(responses))
        assert len(served_by_pid(receiver.points())) == 2, "one worker served every request"
        assert all(r.status_code == 200 for r in responses)
        assert receiver.spans() == []
        output = server.stop()

        spans = receiver.spans()
        server_spans = [s for s in spans if s["kind"] == "SERVER"]
        assert sorted(s["trace_id"] for s in server_spans) == sorted(r.headers["X-Trace-Id"] for r in responses)
        assert len([s for s in spans if s["name"] == "home-activites-mock-data"]) == len(responses)
        assert len({s["resource"]["process.pid"] for s in spans}) == 2, "both workers export"
        # X-Ray: segments are sent as each request ends, sampled per the rule.
        xray_ids = {segment["trace_id"] for segment in daemon.segments()}
        assert xray_ids and xray_ids <= {f"1-{t[:8]}-{t[8:]}" for t in (r.headers["X-Trace-Id"] for r in responses)}
    assert output.count("opentelemetry: on") == 2
    assert output.count("xray: on") == 2


def test_ctrl_c_runs_each_workers_exit_whole():
    """Ctrl-C signals the master and every worker, and the master passes a SIGQUIT on: each worker
    gets two quits, and the second must not cut the first one's exit (its flush) short."""
    with OtlpReceiver() as receiver:
        server = Gunicorn({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "600000"},
                          workers=2).start()
        responses = [requests.get(f"{server.url}/api/activities/home", timeout=10) for _ in range(10)]
        workers = [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", server.read_output())]
        for pid in (server.process.pid, *workers):
            os.kill(pid, signal.SIGINT)
        assert server.process.wait(timeout=20) == 0
        output = server.stop()
        server_spans = [span for span in receiver.spans() if span["kind"] == "SERVER"]
    assert sorted(span["trace_id"] for span in server_spans) == sorted(r.headers["X-Trace-Id"] for r in responses)
    assert output.count("Worker exiting") == 2
    assert "Traceback" not in output and "WARNING" not in output, output
