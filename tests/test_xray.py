"""AWS X-Ray's daemon route (the journal's), in-process against a UDP socket standing in for the
daemon: a segment per request, rooted in OpenTelemetry's trace. The otlp and collector routes,
which need a process of their own, are in test_aws_otlp.py."""
import json
from pathlib import Path

import pytest

from cruddur.observability.xray import sampling_rule
from cruddur.services.user_activities import UserActivities
from tests.peers.xray import XRayDaemon, walk

RULE_FILE = Path(__file__).resolve().parent.parent / "aws" / "json" / "xray.json"
CALLER_TRACE = "5759e988bd862e3fe1be46a994272793"
CALLER_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
CALLER_PARENT = "53995c3f42cd8ad8"


def xray_id(trace_id: str) -> str:
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def startup_detail(caplog, integration: str) -> str:
    """What the last start-up line of `integration` said, as tests.conftest.startup_detail reads it."""
    records = caplog.get_records("setup") + caplog.records  # the app is built by a fixture or by the test
    line = [record for record in records if getattr(record, "integration", None) == integration][-1]
    return f"{'on' if line.enabled else 'off'}: {line.detail}"


def rule_file(tmp_path, rate: float, reservoir: int) -> str:
    """aws/json/xray.json with another rate and reservoir."""
    rule = json.loads(RULE_FILE.read_text())
    rule["SamplingRule"].update(FixedRate=rate, ReservoirSize=reservoir)
    path = tmp_path / f"rate-{rate}.json"
    path.write_text(json.dumps(rule))
    return str(path)


@pytest.fixture(scope="module")
def daemon():
    with XRayDaemon() as peer:
        yield peer


@pytest.fixture
def make_xray_app(daemon, make_app, tmp_path):
    """Apps on the daemon route; every trace sampled unless the test gives its own rule."""
    daemon.clear()
    always = rule_file(tmp_path, rate=1.0, reservoir=5)
    return lambda **env: make_app({"AWS_XRAY_DAEMON_ADDRESS": daemon.address,
                                   "AWS_XRAY_SAMPLING_RULE_FILE": always, **env})


@pytest.fixture
def client(make_xray_app):
    return make_xray_app().test_client()


def test_a_request_is_a_segment_named_backend_flask_rooted_in_the_opentelemetry_trace(client, daemon, caplog):
    response = client.get("/api/activities/home", headers={"User-Agent": "cruddur-test"})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    root = xray_id(response.headers["X-Trace-Id"])
    assert response.headers["X-Amzn-Trace-Id"] == f"Root={root}"
    assert {key: segment[key] for key in ("name", "trace_id", "http", "in_progress")} == {
        "name": "backend-flask", "trace_id": root, "in_progress": False,
        "http": {"request": {"url": "http://localhost/api/activities/home", "method": "GET",
                             "user_agent": "cruddur-test", "client_ip": "127.0.0.1"},
                 "response": {"status": 200, "content_length": int(response.headers["Content-Length"])}}}
    assert "parent_id" not in segment and segment["end_time"] >= segment["start_time"]
    assert startup_detail(caplog, "xray") == (
        f"on: segments to {daemon.address} as backend-flask; rule Cruddur from rate-1.0.json: 5 a second, then 100%")


def test_a_huge_header_is_clipped_so_the_segment_still_fits_its_datagram(client, daemon):
    """flask run (and gunicorn without its request limits) lets 100 kB headers reach the app."""
    response = client.get("/api/activities/home", headers={"User-Agent": "x" * 100_000, "X-Forwarded-For": "z" * 100_000})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["trace_id"] == xray_id(response.headers["X-Trace-Id"])
    request = segment["http"]["request"]
    assert (len(request["user_agent"]), len(request["client_ip"]), request["x_forwarded_for"]) == (2049, 2049, True)


def test_user_activities_has_the_journals_mock_data_subsegment_with_its_metadata(client, daemon):
    client.get("/api/activities/@andrewbrown")
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    (mock_data,) = [entity for entity in walk(segment) if entity is not segment]
    assert (mock_data["name"], mock_data["parent_id"], mock_data["trace_id"]) == (
        "mock-data", segment["id"], segment["trace_id"])
    assert mock_data["metadata"] == {"namespace": {"key": {"now": mock_data["metadata"]["namespace"]["key"]["now"],
                                                           "results-size": 1}}}
    assert mock_data["metadata"]["namespace"]["key"]["now"].endswith("+00:00")
    assert segment["start_time"] <= mock_data["start_time"] <= mock_data["end_time"] <= segment["end_time"]


def test_errors_end_their_segment_with_the_status(client, daemon):
    assert client.get("/api/activities/@nobody").status_code == 404
    assert client.post("/api/activities", json={}).status_code == 422
    segments = daemon.wait_for(lambda segments: len(segments) == 2)
    assert sorted(segment["http"]["response"]["status"] for segment in segments) == [404, 422]
    assert not [entity for segment in segments for entity in walk(segment) if entity.get("in_progress")]


@pytest.mark.parametrize("header", [
    f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=1",
    f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=1;Lineage=a87bd80c:1|68fd508a:5;Self=1-67891233-abc",
])
def test_a_continued_callers_trace_keeps_its_parent_whatever_else_the_header_holds(client, daemon, header):
    response = client.get("/api/activities/home", headers={"X-Amzn-Trace-Id": header})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert response.headers["X-Trace-Id"] == CALLER_TRACE
    assert (segment["trace_id"], segment["parent_id"]) == (CALLER_ROOT, CALLER_PARENT)


def test_a_callers_unsampled_trace_sends_no_segment_and_keeps_its_id(client, daemon):
    unsampled = client.get("/api/activities/home",
                           headers={"X-Amzn-Trace-Id": f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=0"})
    sampled = client.get("/api/activities/notifications")
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["trace_id"] == xray_id(sampled.headers["X-Trace-Id"])
    assert unsampled.headers["X-Amzn-Trace-Id"] == f"Root={CALLER_ROOT}"


@pytest.mark.parametrize("headers", [
    # Another trace's Parent and Sampled: traceparent wins, so the X-Ray fields are not this trace's.
    {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
     "X-Amzn-Trace-Id": f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=0"},
    # Junk that OpenTelemetry does not continue: a new trace, and none of the caller's fields.
    {"X-Amzn-Trace-Id": f"Root={CALLER_ROOT};Parent=not-a-span-id;Sampled=0"},
    {"X-Amzn-Trace-Id": f"Root=1-5759e988-bd862e3f;Parent={CALLER_PARENT};Sampled=0"},
])
def test_fields_of_a_trace_not_continued_are_dropped_and_the_rule_decides(client, daemon, headers):
    response = client.get("/api/activities/home", headers=headers)
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["trace_id"] == xray_id(response.headers["X-Trace-Id"]) != CALLER_ROOT
    assert "parent_id" not in segment


def test_the_health_check_is_untraced_and_gets_no_segment(client, daemon):
    health = client.get("/api/health")
    client.get("/api/activities/home?x=/api/health")
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["http"]["request"]["url"] == "http://localhost/api/activities/home"
    assert health.status_code == 200 and "X-Amzn-Trace-Id" not in health.headers


@pytest.mark.parametrize(("host", "name"), [("4567-cruddur.example.dev", "4567-cruddur.example.dev"),
                                             ("localhost", "backend-flask")])
def test_a_host_matching_aws_xray_url_names_the_segment_and_others_get_the_service_name(
        make_xray_app, daemon, host, name):
    client = make_xray_app(AWS_XRAY_URL="*cruddur.example*").test_client()
    assert client.get("/api/activities/home", headers={"Host": host}).status_code == 200
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["name"] == name


def test_the_rule_from_aws_json_xray_json_is_the_sdks_local_rule():
    rules, detail = sampling_rule(RULE_FILE)
    assert detail == "rule Cruddur from xray.json: 5 a second, then 10%"
    assert rules == {"version": 2, "default": {"fixed_target": 5, "rate": 0.1}, "rules": [
        {"description": "Cruddur", "host": "*", "http_method": "*", "url_path": "*", "fixed_target": 5, "rate": 0.1}]}


@pytest.mark.parametrize(("content", "error"), [
    (None, "[Errno 2] No such file or directory"),
    ("{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ('{"SamplingRule": {"RuleName": "Cruddur"}}', "'ReservoirSize'"),
])
def test_an_unreadable_rule_file_falls_back_to_the_sdks_default_rule(tmp_path, content, error):
    path = tmp_path / "xray.json"
    if content is not None:
        path.write_text(content)
    rules, detail = sampling_rule(path)
    assert rules is None and detail.startswith(f"the SDK's default rule ({path} unreadable: {error}")


def test_the_rule_file_decides_which_requests_are_sampled(make_xray_app, daemon, tmp_path, caplog):
    """A rule that keeps nothing (no reservoir, rate 0) keeps nothing; the others keep everything."""
    client = make_xray_app(AWS_XRAY_SAMPLING_RULE_FILE=rule_file(tmp_path, rate=0.0, reservoir=0)).test_client()
    responses = [client.get("/api/activities/home") for _ in range(3)]
    client.get("/api/activities/home", headers={"X-Amzn-Trace-Id": f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=1"})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)  # the caller's decision wins
    assert segment["trace_id"] == CALLER_ROOT
    # Unsampled, each response still names its trace.
    assert [response.headers["X-Amzn-Trace-Id"] for response in responses] == [
        f"Root={xray_id(response.headers['X-Trace-Id'])}" for response in responses]
    assert startup_detail(caplog, "xray").endswith("; rule Cruddur from rate-0.0.json: 0 a second, then 0%")


def test_services_run_outside_a_request_without_a_segment(make_xray_app):
    with make_xray_app().app_context():
        assert [activity["handle"] for activity in UserActivities.run("worf")] == ["worf"]


@pytest.mark.parametrize(("env", "detail"), [
    ({"AWS_XRAY_DAEMON_ADDRESS": ""},
     "set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000) to send segments, or XRAY_EXPORT=otlp for X-Ray's OTLP endpoint"),
    ({"AWS_XRAY_SDK_ENABLED": "false"}, "AWS_XRAY_SDK_ENABLED is false"),
    ({"XRAY_EXPORT": "daemon", "AWS_XRAY_DAEMON_ADDRESS": ""},
     "XRAY_EXPORT is daemon: set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000)"),
    ({"XRAY_EXPORT": "udp"}, "XRAY_EXPORT is 'udp': use daemon, otlp or collector"),
    ({"AWS_XRAY_DAEMON_ADDRESS": "xray-daemon"},
     "AWS_XRAY_DAEMON_ADDRESS is 'xray-daemon': use host:port (e.g. xray-daemon:2000)"),
])
def test_off_it_says_why_and_sends_nothing(make_xray_app, daemon, caplog, env, detail):
    client = make_xray_app(**env).test_client()
    response = client.get("/api/activities/@andrewbrown")
    assert response.status_code == 200 and "X-Amzn-Trace-Id" not in response.headers
    assert client.get("/api/health").get_json()["integrations"]["xray"] == "off"
    assert startup_detail(caplog, "xray") == f"off: {detail}"
    client.get("/api/activities/home", headers={"X-Amzn-Trace-Id": f"Root={CALLER_ROOT};Parent={CALLER_PARENT};Sampled=1"})
    with pytest.raises(AssertionError):  # nothing within a second, though the caller asked for a segment
        daemon.wait_for(lambda segments: segments, timeout=1)
