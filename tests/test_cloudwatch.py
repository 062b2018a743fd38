"""CloudWatch Logs: when each route stays off and why (in process), and what arrives under gunicorn,
whose first app sets up the process's handlers: watchtower's lines at moto's server, the otlp
route's records at a SigV4-verifying stand-in for CloudWatch Logs' OTLP endpoint."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import AWS_SECRET as SECRET
from tests.conftest import startup_detail
from tests.peers.aws_otlp import SignedOtlpEndpoint
from tests.peers.cloudwatch import REGION
from tests.peers.otlp import OtlpReceiver
from tests.processes import Gunicorn

GROUP = "cruddur"
HOME = "/api/activities/home"
ACCESS, FEED = "cruddur.access", "cruddur.services.home_activities"
HONEYCOMB_KEY = "hcaik_fake_never_for_aws_93d1"


def eventually(condition, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)
    return found


@pytest.mark.parametrize("env, unset, reason", [
    ({}, (), "set CLOUDWATCH_LOG_GROUP (e.g. cruddur) to ship logs"),
    ({"CLOUDWATCH_LOG_GROUP": GROUP, "CLOUDWATCH_LOGS_EXPORT": "kinesis"}, (),
     "CLOUDWATCH_LOGS_EXPORT is 'kinesis': use watchtower or otlp"),
    ({"CLOUDWATCH_LOGS_EXPORT": "otlp"}, (), "CLOUDWATCH_LOGS_EXPORT is otlp: set CLOUDWATCH_LOG_GROUP (e.g. cruddur)"),
    ({"CLOUDWATCH_LOG_GROUP": GROUP}, ("AWS_DEFAULT_REGION",),
     "no AWS region: set AWS_DEFAULT_REGION (or region in ~/.aws/config)"),
    ({"CLOUDWATCH_LOG_GROUP": GROUP, "CLOUDWATCH_LOGS_EXPORT": "otlp"}, ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
     "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the host a role"),
])
def test_off_with_one_clear_reason(make_app, aws_env, caplog, env, unset, reason):
    for name in unset:
        aws_env.delenv(name)
    client = make_app(env).test_client()
    assert client.get(HOME).status_code == 200
    assert client.get("/api/health").get_json()["integrations"]["cloudwatch"] == "off"
    (line,) = [record for record in caplog.records if getattr(record, "integration", None) == "cloudwatch"]
    assert (line.enabled, line.detail) == (False, reason)
    assert SECRET not in caplog.text


@pytest.mark.live
def test_watchtower_ships_each_line_with_its_trace_id_to_a_stream_per_worker_and_sigterm_flushes_them(
        aws_env, moto):
    assert GROUP not in moto.groups()
    # watchtower would send a minute after a worker's first line: whatever arrives, SIGTERM sent.
    server = Gunicorn({"CLOUDWATCH_LOG_GROUP": GROUP, "CLOUDWATCH_SEND_INTERVAL": "60", "CLOUDWATCH_METRICS": "false"},
                      workers=2).start()
    try:
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda page: requests.get(
                f"{server.url}{HOME}?page={page}", headers={"Connection": "close"}, timeout=10), range(20)))
        streams_at_start = moto.client.describe_log_streams(logGroupName=GROUP)["logStreams"]
        sent_before_sigterm = moto.events(GROUP)
    finally:
        output = server.stop()
    assert [response.status_code for response in responses] == [200] * 20
    # The group, missing, and each worker's stream are made at start: watchtower would drop the
    # lines logged while its first send made the stream.
    assert len(streams_at_start) == 2
    assert sent_before_sigterm == []

    lines = moto.lines(GROUP)
    by_trace = {response.headers["X-Trace-Id"]: page for page, response in enumerate(responses)}
    access = {line["trace_id"]: line for line in lines if line["logger"] == ACCESS and line["path"].startswith(HOME)}
    assert access.keys() == by_trace.keys()
    for trace_id, line in access.items():
        assert line == {"level": "INFO", "logger": ACCESS, "message": f"GET {HOME}?page={by_trace[trace_id]} 200",
                        "remote_addr": "127.0.0.1", "method": "GET", "scheme": "http",
                        "path": f"{HOME}?page={by_trace[trace_id]}", "status": 200, "trace_id": trace_id,
                        "duration_ms": line["duration_ms"], "time": line["time"], "stream": line["stream"]}
    feed = [line["trace_id"] for line in lines if line["logger"] == FEED]
    assert sorted(feed) == sorted(by_trace)
    # Each worker's start-up lines, then its own lines, in a stream of its own.
    streams = {line["stream"] for line in lines}
    assert len(streams) == 2
    for stream in streams:
        assert sorted(line["integration"] for line in lines if line["stream"] == stream and "integration" in line) == [
            "cloudwatch", "metrics", "opentelemetry", "rollbar", "xray"]
    assert output.count(f"cloudwatch: on (log group {GROUP} in {REGION} via {moto.url})") == 2
    assert "Warning" not in output and SECRET not in output
    assert not [event for event in moto.events(GROUP) if SECRET in event["message"]]


@pytest.mark.live
def test_while_cloudwatch_hangs_a_worker_queues_at_most_the_bound_and_drops_the_newer_lines(aws_env, moto):
    aws_env.delenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
    aws_env.setenv("AWS_ENDPOINT_URL", moto.url)  # boto3's variable for every service works too
    with Gunicorn({"CLOUDWATCH_LOG_GROUP": GROUP, "CLOUDWATCH_SEND_INTERVAL": "0.1",
                   "CLOUDWATCH_MAX_QUEUED_LINES": "5"}, workers=1) as server:
        def get(path: str) -> requests.Response:
            response = requests.get(server.url + path, timeout=5)
            assert response.status_code == 200
            return response

        get(f"{HOME}?before=hold")  # the last line before the hold (the store's seeding line comes first)
        eventually(lambda: [line for line in moto.lines(GROUP) if line.get("path") == f"{HOME}?before=hold"])
        moto.hold()
        try:
            get("/api/health?held=1")  # the sender takes this line, and waits on CloudWatch
            eventually(lambda: moto.held == ["Logs_20140328.PutLogEvents"])
            during = [get(HOME).headers["X-Trace-Id"] for _ in range(10)]  # 20 lines for a queue of 5
        finally:
            moto.release()
        # Once the queue is sent (the feed's line of the third request is its last), lines are taken again.
        eventually(lambda: [line for line in moto.lines(GROUP) if line.get("trace_id") == during[2]])
        after = get(HOME).headers["X-Trace-Id"]
        eventually(lambda: [line for line in moto.lines(GROUP) if line.get("trace_id") == after])
    assert startup_detail(server.output, "cloudwatch") == f"on: log group {GROUP} in {REGION} via {moto.url}"

    lines = moto.lines(GROUP)
    assert [line for line in lines if line.get("path") == "/api/health?held=1"]
    arrived = {(line["logger"], line["trace_id"]) for line in lines if line.get("trace_id") in during}
    # The five oldest of the lines logged while CloudWatch hung; the fifteen after them were dropped.
    assert arrived == {(FEED, during[0]), (ACCESS, during[0]), (FEED, during[1]), (ACCESS, during[1]),
                       (FEED, during[2])}
    assert {line["logger"] for line in lines if line.get("trace_id") == after} == {FEED, ACCESS}


@pytest.mark.live
def test_the_otlp_route_sends_signed_records_with_group_stream_trace_and_span_and_no_honeycomb_header(aws_env):
    with SignedOtlpEndpoint("logs", REGION, {"testing": (SECRET, None)}) as endpoint, OtlpReceiver() as honeycomb:
        aws_env.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", endpoint.url)
        with Gunicorn({"CLOUDWATCH_LOGS_EXPORT": "otlp", "CLOUDWATCH_LOG_GROUP": GROUP,
                       "OTEL_EXPORTER_OTLP_ENDPOINT": honeycomb.url,
                       "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}",
                       "OTEL_BLRP_SCHEDULE_DELAY": "50", "OTEL_BSP_SCHEDULE_DELAY": "50"}, workers=1) as server:
            trace_id = requests.get(f"{server.url}{HOME}?page=1", timeout=5).headers["X-Trace-Id"]
            records = endpoint.wait_for_records(
                lambda records: len([record for record in records if record["trace_id"] == trace_id]) == 2)
            spans = honeycomb.wait_for(lambda spans: [span for span in spans if span["trace_id"] == trace_id
                                                      and span["kind"] == "SERVER"])
    (request_span,) = [span for span in spans if span["trace_id"] == trace_id and span["kind"] == "SERVER"]
    feed, access = sorted((record for record in records if record["trace_id"] == trace_id),
                          key=lambda record: record["body"] != "HomeActivities")
    assert (feed["body"], feed["severity"], feed["span_id"]) == ("HomeActivities", "INFO", request_span["span_id"])
    assert (access["body"], access["span_id"]) == (f"GET {HOME}?page=1 200", request_span["span_id"])
    assert access["attributes"]["status"] == 200 and access["resource"]["service.name"] == "backend-flask"
    assert {(record["group"], record["stream"]) for record in records} == {(GROUP, "backend-flask")}
    assert endpoint.refused == [] and set(endpoint.verified) == {"testing"}
    assert not [request for request in endpoint.requests if HONEYCOMB_KEY in str(request["headers"])]
    assert startup_detail(server.output, "cloudwatch") == (
        f"on: log group {GROUP}, stream backend-flask over OTLP/HTTP to {endpoint.url}/v1/logs (SigV4, {REGION})")
    assert SECRET not in server.output and HONEYCOMB_KEY not in server.output
