"""SIGTERM to the real gunicorn: what is buffered reaches live peers, and a dead or hung service
costs at most the shutdown's deadline.

Delivery is proven by what the peers received, trace id by trace id; "nothing sent yet" holds
because every sender waits longer than the test (a minute's batch delay, a ten-minute CloudWatch
interval, a Rollbar stand-in slow to read), not because the test looks before a timer fires.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.reliability.conftest import GROUP

pytestmark = pytest.mark.live
HOME = "/api/activities/home"
REQUESTS = 40
# gunicorn's graceful_timeout, past which a worker still running is killed with its buffers;
# observability.shutdown's SDK timeouts add up to 14 s, leaving a busy machine room.
GRACE_S = 25
STALL_S = 5
# Nothing is sent before SIGTERM but by a full batch (512 spans or lines, more than a worker ends here).
BUFFERED = {"OTEL_BSP_SCHEDULE_DELAY": "60000", "OTEL_BLRP_SCHEDULE_DELAY": "60000", "CLOUDWATCH_SEND_INTERVAL": "600",
            "OTEL_METRIC_EXPORT_INTERVAL": "600000"}
DURATION = "http.server.request.duration"


def send(server) -> tuple[list[requests.Response], list[requests.Response]]:
    """REQUESTS home feeds, then four /rollbar/test, each on a connection of its own."""
    def get(path: str) -> requests.Response:
        return requests.get(server.url + path, headers={"Connection": "close"}, timeout=10)

    with ThreadPoolExecutor(4) as pool:
        homes = list(pool.map(get, [HOME] * REQUESTS))
        reports = list(pool.map(get, ["/rollbar/test"] * 4))
    assert [answer.status_code for answer in homes] == [200] * REQUESTS, [
        answer.text for answer in homes if answer.status_code != 200]
    assert {answer.status_code for answer in reports} <= {200, 429}  # 429: that worker already reported
    return homes, reports


def stop_timed(server) -> float:
    started = time.monotonic()
    server.output = server.stop(timeout=GRACE_S + STALL_S + 5)
    return time.monotonic() - started


def bounded_exit(server, exit_s: float) -> None:
    """Every worker finished its flush within graceful_timeout: gunicorn SIGKILLs a worker still
    running then, and says so. The clock only bounds the whole exit, far above a busy machine's
    stall (the master itself reaps its workers in steps of 0.1 s, and a loaded core delays it)."""
    assert "SIGKILL" not in server.output and "WORKER TIMEOUT" not in server.output, server.output
    assert exit_s < GRACE_S + STALL_S, server.output


def test_sigterm_delivers_every_buffered_span_log_line_and_rollbar_item(stack, figures):
    # Spans wait for a full batch or a minute, log lines for CloudWatch's interval of ten minutes
    # (watchtower's 5 s with a layer that cannot set it), and Rollbar takes 2 s to read each item:
    # at SIGTERM, all three are still inside the workers.
    stack.rollbar.delay_s = 2
    server = stack.gunicorn(**BUFFERED).start()
    homes, reports = send(server)
    # Each worker made the group and its streams at start, and sent nothing to them.
    assert (stack.otlp.spans(), stack.otlp.points(), stack.moto.events(GROUP), stack.rollbar.items()) == ([], [], [], [])
    exit_s = stop_timed(server)

    answered = {answer.headers["X-Trace-Id"] for answer in homes + reports}
    server_spans = [span for span in stack.otlp.spans() if span["kind"] == "SERVER"]
    # /api/health, which gunicorn's start-up asked, is not traced.
    lines = stack.moto.lines(GROUP)
    access = [line for line in lines if line.get("logger") == "cruddur.access" and line["trace_id"]]
    # The last interval's metrics, each worker's one export: every home feed counted once.
    counted = sum(point["count"] for point in stack.otlp.points()
                  if point["name"] == DURATION and point["attributes"].get("http.route") == HOME)
    emf_counted = sum(line[DURATION]["Count"] for line in lines if line.get("http.route") == HOME and DURATION in line)
    items = [item["data"]["custom"]["trace_id"] for item in stack.rollbar.items()]
    reported = [answer.headers["X-Trace-Id"] for answer in reports if answer.status_code == 200]
    figures.add("Shutdown: SIGTERM with everything still buffered, services healthy", {
        "exit (s)": round(exit_s, 1),
        "request spans sent / received": f"{len(answered)} / {len(server_spans)}",
        "access lines sent / received": f"{len(answered)} / {len(access)}",
        "Rollbar items sent / received": f"{len(reported)} / {len(items)}",
        "home feeds / counted in metrics (OTLP, EMF)": f"{len(homes)} / {counted}, {emf_counted}",
    })
    assert sorted(span["trace_id"] for span in server_spans) == sorted(answered)
    mock_data = [span for span in stack.otlp.spans() if span["name"] == "home-activites-mock-data"]
    assert len(mock_data) == len(homes)
    assert sorted(line["trace_id"] for line in access) == sorted(answered)
    assert sorted(items) == sorted(reported) and items
    assert counted == emf_counted == len(homes)
    bounded_exit(server, exit_s)


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_sigterm_with_every_service_failing_exits_in_time(stack, figures, fault):
    server = stack.gunicorn(**BUFFERED).start()
    for name, front in stack.fronts.items():
        front.set(fault if name != "xray" else {"down": "down", "slow": "stalled"}[fault])
    homes, reports = send(server)
    exit_s = stop_timed(server)

    figures.add("Shutdown: SIGTERM with every service failing", {"fault": fault, "exit (s)": round(exit_s, 1)})
    assert len(homes) == REQUESTS
    bounded_exit(server, exit_s)


def test_the_app_starts_and_serves_with_every_service_unreachable(stack):
    for name, front in stack.fronts.items():
        front.set("down")
    with stack.gunicorn() as server:
        health = requests.get(server.url + "/api/health", timeout=5)
        homes, _ = send(server)
    assert health.status_code == 200
    assert set(health.json()["integrations"].values()) == {"on"}
    assert len(homes) == REQUESTS
    assert "Traceback" not in server.output


@pytest.mark.parametrize("fault", ["healthy", "slow"])
def test_sigterm_flushes_the_otlp_routes_within_the_deadline(stack, figures, fault):
    """X-Ray's and CloudWatch Logs' OTLP endpoints: what is buffered at SIGTERM arrives, and a
    hung endpoint costs at most the deadline."""
    server = stack.gunicorn(**{**stack.otlp_routes(), **BUFFERED}).start()
    for name in ("xray-otlp", "cloudwatch-otlp"):
        stack.fronts[name].set(fault)
    homes, reports = send(server)
    assert (stack.xray_otlp.spans(), stack.logs_otlp.records()) == ([], [])
    exit_s = stop_timed(server)

    answered = {answer.headers["X-Trace-Id"] for answer in homes + reports}
    in_xray = {span["trace_id"] for span in stack.xray_otlp.spans()}
    logged = {record["trace_id"] for record in stack.logs_otlp.records()}
    figures.add("Shutdown: SIGTERM with X-Ray and CloudWatch Logs over OTLP", {
        "endpoints": fault, "exit (s)": round(exit_s, 1),
        "traces in X-Ray": f"{len(in_xray)} of {len(answered)}",
        "access lines' traces in CloudWatch": f"{len(logged & answered)} of {len(answered)}",
    })
    bounded_exit(server, exit_s)
    if fault == "healthy":
        assert in_xray == answered  # the otlp route samples as OpenTelemetry does: every trace
        assert answered <= logged
