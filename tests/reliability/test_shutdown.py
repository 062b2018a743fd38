"""SIGTERM to the real gunicorn: what is buffered reaches live peers, and a dead or hung service
costs at most the shutdown's deadline, with what it lost counted in one line per worker.
"""
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.reliability.conftest import GROUP

pytestmark = pytest.mark.live
HOME = "/api/activities/home"
REQUESTS = 40
# gunicorn's graceful_timeout: a worker still running then is killed with its buffers.
GRACE_S = 10
NOT_DELIVERED = {
    "opentelemetry": re.compile(r"opentelemetry: (\d+) of (\d+) spans not delivered to otlp"),
    "cloudwatch": re.compile(r"cloudwatch: (\d+) of (\d+) log lines not delivered"),
    "rollbar": re.compile(r"rollbar: (\d+) of (\d+) items not delivered"),
}


def send(server) -> tuple[list[requests.Response], list[requests.Response]]:
    """REQUESTS home feeds, then four /rollbar/test, each on a connection of its own."""
    def get(path: str) -> requests.Response:
        return requests.get(server.url + path, headers={"Connection": "close"}, timeout=10)

    with ThreadPoolExecutor(4) as pool:
        homes = list(pool.map(get, [HOME] * REQUESTS))
        reports = list(pool.map(get, ["/rollbar/test"] * 4))
    assert all(answer.status_code == 200 for answer in homes)
    assert all(answer.status_code in (200, 429) for answer in reports)  # 429: that worker already reported
    return homes, reports


def stop_timed(server) -> float:
    started = time.monotonic()
    server.output = server.stop(timeout=GRACE_S + 5)
    return time.monotonic() - started


def not_delivered(output: str, integration: str) -> list[tuple[int, ...]]:
    return [tuple(map(int, match.groups())) for match in NOT_DELIVERED[integration].finditer(output)]


def test_sigterm_delivers_every_buffered_span_log_line_and_rollbar_item(stack, figures):
    # Spans wait for a full batch or a minute, log lines for watchtower's 5 s, and Rollbar takes
    # 2 s to read each item: at SIGTERM, all three are still inside the workers.
    stack.rollbar.delay_s = 2
    server = stack.gunicorn(OTEL_BSP_SCHEDULE_DELAY="60000").start()
    homes, reports = send(server)
    assert (stack.otlp.spans(), GROUP in stack.moto.groups(), stack.rollbar.items()) == ([], False, [])
    exit_s = stop_timed(server)

    answered = {answer.headers["X-Trace-Id"] for answer in homes + reports}
    server_spans = [span for span in stack.otlp.spans() if span["kind"] == "SERVER"]
    # /api/health, which gunicorn's start-up asked, is not traced.
    access = [line for line in stack.moto.lines(GROUP) if line["logger"] == "cruddur.access" and line["trace_id"]]
    items = [item["data"]["custom"]["trace_id"] for item in stack.rollbar.items()]
    reported = [answer.headers["X-Trace-Id"] for answer in reports if answer.status_code == 200]
    figures.add("Shutdown: SIGTERM with everything still buffered, services healthy", {
        "exit (s)": round(exit_s, 1),
        "request spans sent / received": f"{len(answered)} / {len(server_spans)}",
        "access lines sent / received": f"{len(answered)} / {len(access)}",
        "Rollbar items sent / received": f"{len(reported)} / {len(items)}",
    })
    assert sorted(span["trace_id"] for span in server_spans) == sorted(answered)
    mock_data = [span for span in stack.otlp.spans() if span["name"] == "home-activites-mock-data"]
    assert len(mock_data) == len(homes)
    assert sorted(line["trace_id"] for line in access) == sorted(answered)
    assert sorted(items) == sorted(reported) and items
    assert exit_s < GRACE_S
    assert not any(not_delivered(server.output, name) for name in NOT_DELIVERED), server.output


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_sigterm_with_every_service_failing_exits_in_time_and_counts_what_was_lost(stack, figures, fault):
    server = stack.gunicorn().start()
    for name, front in stack.fronts.items():
        front.set(fault if name != "xray" else {"down": "down", "slow": "stalled"}[fault])
    homes, reports = send(server)
    exit_s = stop_timed(server)

    spans = not_delivered(server.output, "opentelemetry")
    lines = not_delivered(server.output, "cloudwatch")
    items = not_delivered(server.output, "rollbar")
    figures.add("Shutdown: SIGTERM with every service failing", {
        "fault": fault, "exit (s)": round(exit_s, 1),
        "spans not delivered (counted)": sum(lost for lost, _ in spans),
        "log lines not delivered (counted)": sum(lost for lost, _ in lines),
        "Rollbar items not delivered (counted)": sum(lost for lost, _ in items),
    })
    assert exit_s < GRACE_S, server.output
    assert "SIGKILL" not in server.output and "WORKER TIMEOUT" not in server.output
    # Each worker that served a request tells its loss once: nothing reached Honeycomb.
    assert 1 <= len(spans) <= server.workers and all(lost == ended for lost, ended in spans)
    assert sum(ended for _, ended in spans) >= len(homes) * 2
    assert 1 <= len(lines) <= server.workers and all(lost == queued for lost, queued in lines)
    assert sum(queued for _, queued in lines) >= len(homes) * 2
    # One item per worker that reported, failed at once (down) or still hanging at exit (slow).
    reported = [answer for answer in reports if answer.status_code == 200]
    assert items == [(1, 1)] * len(reported)


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
    hung endpoint costs at most the deadline, its loss counted."""
    server = stack.gunicorn(**{**stack.otlp_routes(), "OTEL_BSP_SCHEDULE_DELAY": "60000",
                               "OTEL_BLRP_SCHEDULE_DELAY": "60000"}).start()
    for name in ("xray-otlp", "cloudwatch-otlp"):
        stack.fronts[name].set(fault)
    homes, reports = send(server)
    assert (stack.xray_otlp.spans(), stack.logs_otlp.records()) == ([], [])
    exit_s = stop_timed(server)

    answered = {answer.headers["X-Trace-Id"] for answer in homes + reports}
    in_xray = {span["trace_id"] for span in stack.xray_otlp.spans()}
    logged = {record["trace_id"] for record in stack.logs_otlp.records()}
    lost_spans = re.findall(r"opentelemetry: (\d+) of (\d+) spans not delivered to xray", server.output)
    lost_lines = not_delivered(server.output, "cloudwatch")
    figures.add("Shutdown: SIGTERM with X-Ray and CloudWatch Logs over OTLP", {
        "endpoints": fault, "exit (s)": round(exit_s, 1),
        "traces in X-Ray (the rule keeps 5 a second a worker)": f"{len(in_xray)} of {len(answered)}",
        "access lines' traces in CloudWatch": f"{len(logged & answered)} of {len(answered)}",
        "spans / log lines not delivered (counted)":
            f"{sum(int(lost) for lost, _ in lost_spans)} / {sum(lost for lost, _ in lost_lines)}",
    })
    assert exit_s < GRACE_S, server.output
    assert "SIGKILL" not in server.output and "WORKER TIMEOUT" not in server.output
    if fault == "healthy":
        assert in_xray and in_xray <= answered
        assert answered <= logged
        assert not lost_spans and not lost_lines, server.output
    else:
        assert 1 <= len(lost_spans) <= server.workers and 1 <= len(lost_lines) <= server.workers
        assert sum(lost for lost, _ in lost_lines) >= len(homes) * 2
