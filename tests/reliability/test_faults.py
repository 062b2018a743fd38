"""Each outside service failing in each way it can, under a steady load on the real gunicorn.

One gunicorn (two workers, all four integrations on) per case: a warm-up, then turns of a run
with every service healthy and the same run with one service failing, then that service back
and fresh data from after its return awaited at the peer.
"""
import statistics
import time

import pytest
import requests

from tests.peers.faults import AWS_HTTP_FAULTS, HTTP_FAULTS, UDP_FAULTS
from tests.reliability.conftest import GROUP, noise, wait_until

pytestmark = pytest.mark.live
REQUESTS = 1600
TURNS = 8
HOME = "/api/activities/home"
CASES = [(service, fault) for service in ("honeycomb", "cloudwatch", "rollbar") for fault in HTTP_FAULTS]
CASES += [("xray", fault) for fault in UDP_FAULTS]
CASES += [(service, fault) for service in ("xray-otlp", "cloudwatch-otlp") for fault in AWS_HTTP_FAULTS]
# A service's failure may be told once per worker as it starts and once as it ends, never per request.
NOISE_PER_WORKER = 2


def trace_ids(server, count: int = 5) -> set[str]:
    return {requests.get(server.url + HOME, timeout=10).headers["X-Trace-Id"] for _ in range(count)}


def honeycomb_gets_new_spans(stack, server) -> None:
    sent = trace_ids(server)
    wait_until(lambda: sent <= {span["trace_id"] for span in stack.otlp.spans()}, 30, "new spans arrive")


def xray_gets_new_segments(stack, server) -> None:
    # The sampling rule keeps 5 a second and 10% of the rest: the load just spent this second's 5.
    time.sleep(1.1)
    sent = {f"1-{t[:8]}-{t[8:]}" for t in trace_ids(server)}
    wait_until(lambda: sent & {segment["trace_id"] for segment in stack.xray.segments()}, 10,
               "new segments arrive")


def cloudwatch_gets_new_lines(stack, server) -> None:
    sent = trace_ids(server)

    def logged() -> set[str]:
        if GROUP not in stack.moto.groups():  # made by the first send that gets through
            return set()
        return {line["trace_id"] for line in stack.moto.lines(GROUP) if line["logger"] == "cruddur.access"}

    wait_until(lambda: sent <= logged(), 45, "new access lines arrive")


def rollbar_gets_new_items(stack, server) -> None:
    def reported() -> str | None:
        response = requests.get(server.url + "/rollbar/test", timeout=10)
        return response.headers["X-Trace-Id"] if response.status_code == 200 else None

    # /rollbar/test lets a worker report once in 10 s.
    trace_id = wait_until(reported, 15, "/rollbar/test reports again")
    wait_until(lambda: trace_id in {item["data"]["custom"]["trace_id"] for item in stack.rollbar.items()},
               10, "the new item arrives")


def xray_otlp_gets_new_spans(stack, server) -> None:
    time.sleep(1.1)  # as for the daemon: the same rule, applied at X-Ray's export
    sent = trace_ids(server)
    wait_until(lambda: sent & {span["trace_id"] for span in stack.xray_otlp.spans()}, 10, "new spans arrive")


def cloudwatch_otlp_gets_new_records(stack, server) -> None:
    sent = trace_ids(server)
    wait_until(lambda: sent <= {record["trace_id"] for record in stack.logs_otlp.records()}, 30,
               "new log records arrive")


ARRIVES = {
    "xray-otlp": xray_otlp_gets_new_spans, "cloudwatch-otlp": cloudwatch_otlp_gets_new_records,
    "honeycomb": honeycomb_gets_new_spans, "xray": xray_gets_new_segments,
    "cloudwatch": cloudwatch_gets_new_lines, "rollbar": rollbar_gets_new_items,
}


@pytest.mark.parametrize(("service", "fault"), CASES)
def test_a_failing_service_is_not_felt_by_the_api_and_data_flows_when_it_returns(stack, loader, figures, service, fault):
    front = stack.fronts[service]
    with stack.gunicorn(**stack.otlp_routes() if service.endswith("-otlp") else {}) as server:
        loader(server.url, 50)
        # From the end of the last whole line: the workers' log threads may be mid-line now.
        before_fault = server.read_output().rfind("\n") + 1
        healthy, faulty = [], []
        # Healthy and faulty in turns, so whatever else the machine does falls on both alike.
        for _ in range(TURNS):
            healthy.append(loader(server.url, REQUESTS // TURNS))
            front.set(fault)
            faulty.append(loader(server.url, REQUESTS // TURNS))
            front.set("healthy")
        ARRIVES[service](stack, server)
        output = server.read_output()[before_fault:]

    # The median of the turns' p99s: a stall of the shared machine lifts one turn's tail, while an
    # exporter that holds requests lifts every faulty turn's.
    healthy_p99, faulty_p99 = (statistics.median(turn.p99 for turn in turns) for turns in (healthy, faulty))
    failures = [failure for turn in healthy + faulty for failure in turn.failures]
    figures.add("Faults: one service failing under a steady load", {
        "service": service, "fault": fault, "requests": sum(turn.sent for turn in healthy + faulty),
        "failed": len(failures),
        "p99 healthy (ms)": round(healthy_p99 * 1000, 1), "p99 failing (ms)": round(faulty_p99 * 1000, 1),
        "log lines other than INFO": len(noise(output)),
    })
    assert failures == []
    # The floor of 20 ms keeps a p99 of a few milliseconds from failing on scheduling noise.
    assert faulty_p99 <= max(1.5 * healthy_p99, healthy_p99 + 0.020), (healthy_p99, faulty_p99)
    assert len(noise(output)) <= NOISE_PER_WORKER * server.workers, "\n".join(noise(output))
