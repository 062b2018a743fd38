"""The integrations under the real gunicorn process with two workers."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.peers.otlp import OtlpReceiver
from tests.peers.xray import XRayDaemon
from tests.processes import Gunicorn

pytestmark = pytest.mark.live
REQUESTS = 40


def test_every_worker_exports_and_sigterm_flushes_every_span():
    with OtlpReceiver() as receiver, XRayDaemon() as daemon:
        server = Gunicorn({
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            # Longer than the test: whatever arrives was flushed by the shutdown.
            "OTEL_BSP_SCHEDULE_DELAY": "600000",
            "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        }, workers=2).start()
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(
                lambda _: requests.get(f"{server.url}/api/activities/home", timeout=10), range(REQUESTS)))
        assert all(r.status_code == 200 for r in responses)
        assert receiver.spans() == []
        output = server.stop()

        spans = receiver.spans()
        server_spans = [s for s in spans if s["kind"] == "SERVER"]
        assert sorted(s["trace_id"] for s in server_spans) == sorted(r.headers["X-Trace-Id"] for r in responses)
        assert len([s for s in spans if s["name"] == "home-activites-mock-data"]) == REQUESTS
        assert len({s["resource"]["process.pid"] for s in spans}) == 2, "both workers export"
        # X-Ray: segments are sent as each request ends, sampled per the rule.
        xray_ids = {segment["trace_id"] for segment in daemon.segments()}
        assert xray_ids and xray_ids <= {f"1-{t[:8]}-{t[8:]}" for t in (r.headers["X-Trace-Id"] for r in responses)}
    assert output.count("opentelemetry: on") == 2
    assert output.count("xray: on") == 2
