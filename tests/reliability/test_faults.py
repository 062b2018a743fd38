"""Each outside service failing in each way it can, under a steady load on the real gunicorn.

One gunicorn (two workers, all four integrations on) per route (the X-Ray daemon and watchtower,
or AWS's OTLP endpoints), shared by its cases: the fronts before the peers keep their ports for
life, so each case switches its service's front to the fault, sends a load, switches it back and
awaits fresh data from after the return at the peer.

What each case proves, against the real peers:
- no request fails, and none takes REQUEST_BOUND_S (a held request waits for a peer's timeout);
- no request thread connected, sent or looked a name up (the audit hook of tests/audit): the
  one exception is the X-Ray SDK's non-blocking UDP datagram to the daemon, its send of the
  finished segment, which the kernel takes or drops without waiting;
- the failure is told a few times per worker, never per request;
- data flows again once the service is back.
Latencies (p99s healthy and failing, in turns) are figures for docs/reliability.md, not checks.
"""
import statistics
import time

import pytest
import requests

from tests.peers.faults import AWS_HTTP_FAULTS, HTTP_FAULTS, UDP_FAULTS
from tests.reliability.conftest import FULL, GROUP, REQUEST_BOUND_S, audited, noise, not_the_daemons_datagram, wait_until

pytestmark = pytest.mark.live
# Per case: `make test` sends FAULTY requests with the service failing; `make reliability`
# sends TURNS turns of healthy and failing, REQUESTS of each, for the p99 figures.
FAULTY = 300
REQUESTS = 1600
TURNS = 8
HOME = "/api/activities/home"
CASES = [(service, fault) for service in ("honeycomb", "metrics", "cloudwatch", "rollbar") for fault in HTTP_FAULTS]
CASES += [("xray", fault) for fault in UDP_FAULTS]
CASES += [(service, fault) for service in ("xray-otlp", "cloudwatch-otlp") for fault in AWS_HTTP_FAULTS]
# A service's failure may be told once per worker as it starts and once as it ends, never per
# request; the server is shared, so the end of the case before may be told during this one.
NOISE_PER_WORKER = 4
# Shorter intervals than production's, so data flows back within seconds (settings of the
# rebuilt observability layer; a layer without them keeps its defaults, and the waits allow that).
INTERVALS = {"CLOUDWATCH_SEND_INTERVAL": "1", "ROLLBAR_TEST_INTERVAL": "1"}


def trace_ids(server, count: int = 5) -> set[str]:
    return {requests.get(server.url + HOME, timeout=10).headers["X-Trace-Id"] for _ in range(count)}


def honeycomb_gets_new_spans(stack, server) -> None:
    sent = trace_ids(server)
    wait_until(lambda: sent <= {span["trace_id"] for span in stack.otlp.spans()}, 30, "new spans arrive")


def honeycomb_gets_new_metrics(stack, server) -> None:
    sent = trace_ids(server)  # the newest request in a latency bucket is its exemplar
    wait_until(lambda: sent & {exemplar["trace_id"] for point in stack.otlp.points() for exemplar in point["exemplars"]},
               30, "new data points arrive")


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
        return {line["trace_id"] for line in stack.moto.lines(GROUP) if line.get("logger") == "cruddur.access"}

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
    "honeycomb": honeycomb_gets_new_spans, "metrics": honeycomb_gets_new_metrics, "xray": xray_gets_new_segments,
    "cloudwatch": cloudwatch_gets_new_lines, "rollbar": rollbar_gets_new_items,
}


@pytest.fixture(scope="module")
def servers(shared_stack, loader, tmp_path_factory):
    """The two routes' servers, each started when its first case needs it, stopped after the module."""
    started = {}

    def server(route: str):
        if route not in started:
            extra = shared_stack.otlp_routes() if route == "otlp" else {}
            started[route] = audited(shared_stack.env(**INTERVALS, **extra), tmp_path_factory.mktemp(f"audit-{route}"))
            started[route].server.start()
            loader(started[route].server.url, 50)  # both workers warm
        return started[route]

    yield server
    for one in started.values():
        one.server.stop()


@pytest.mark.parametrize(("service", "fault"), CASES)
def test_a_failing_service_is_not_felt_by_the_api_and_data_flows_when_it_returns(
        healthy_after, servers, loader, figures, service, fault):
    stack = healthy_after
    front = stack.fronts[service]
    audit = servers("otlp" if service.endswith("-otlp") else "daemon")
    server = audit.server
    audit.new_records()  # what earlier cases' requests did is theirs
    # From the end of the last whole line: the workers' log threads may be mid-line now.
    before_fault = server.read_output().rfind("\n") + 1
    healthy, faulty = [], []
    if FULL:  # healthy and faulty in turns, so whatever else the machine does falls on both alike
        for _ in range(TURNS):
            healthy.append(loader(server.url, REQUESTS // TURNS))
            front.set(fault)
            faulty.append(loader(server.url, REQUESTS // TURNS))
            front.set("healthy")
    else:
        front.set(fault)
        faulty.append(loader(server.url, FAULTY))
        front.set("healthy")
    sent = audit.new_records()
    ARRIVES[service](stack, server)
    output = server.read_output()[before_fault:]

    failures = [failure for turn in healthy + faulty for failure in turn.failures]
    slowest = max(turn.slowest for turn in healthy + faulty)
    figures.add("Faults: one service failing under a steady load", {
        "service": service, "fault": fault, "requests": sum(turn.sent for turn in healthy + faulty),
        "failed": len(failures),
        # The median of the turns' p99s: a stall of the shared machine lifts one turn's tail.
        "p99 healthy (ms)": round(statistics.median(turn.p99 for turn in healthy) * 1000, 1) if healthy else "",
        "p99 failing (ms)": round(statistics.median(turn.p99 for turn in faulty) * 1000, 1),
        "slowest (ms)": round(slowest * 1000, 1),
        "request-thread sends (UDP to the daemon)": len(sent),
        "log lines other than INFO": len(noise(output)),
    })
    assert failures == []
    assert slowest < REQUEST_BOUND_S, slowest
    assert [record for record in sent if not_the_daemons_datagram(stack, record)] == []
    if not service.endswith("-otlp"):  # the hook is there: it saw the daemon's datagrams
        assert sent, "no request thread's send was recorded"
    assert len(noise(output)) <= NOISE_PER_WORKER * server.workers, "\n".join(noise(output))
