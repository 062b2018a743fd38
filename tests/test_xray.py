"""AWS X-Ray, proven against a UDP socket standing in for the daemon."""
import json
from pathlib import Path

import pytest

from cruddur.observability import TELEMETRY
from cruddur.observability.xray import sampling_rule
from tests.peers.xray import XRayDaemon, walk

RULE_FILE = Path(__file__).resolve().parent.parent / "aws" / "json" / "xray.json"


@pytest.fixture
def daemon():
    with XRayDaemon() as peer:
        yield peer


@pytest.fixture
def make_xray_app(daemon, make_app, tmp_path):
    # Sample everything, so each test sees its segment; the real rule is tested below.
    always = json.loads(RULE_FILE.read_text())
    always["SamplingRule"].update(FixedRate=1.0)
    rule_file = tmp_path / "always.json"
    rule_file.write_text(json.dumps(always))
    return lambda **env: make_app({"AWS_XRAY_DAEMON_ADDRESS": daemon.address,
                                   "AWS_XRAY_SAMPLING_RULE_FILE": str(rule_file), **env})


@pytest.fixture
def xray_app(make_xray_app):
    return make_xray_app()


def subsegment_names(segment):
    """The subsegments' names, but for the SQL ones (tested on their own, below)."""
    return [entity["name"] for entity in walk(segment) if "sql" not in entity][1:]


def test_home_request_is_a_segment_with_http_and_capture(xray_app, daemon):
    response = xray_app.test_client().get("/api/activities/home", headers={"User-Agent": "cruddur-test"})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["name"] == "backend-flask"
    assert segment["http"]["request"]["method"] == "GET"
    assert segment["http"]["request"]["url"].endswith("/api/activities/home")
    assert segment["http"]["request"]["user_agent"] == "cruddur-test"
    assert segment["http"]["response"]["status"] == 200
    assert subsegment_names(segment) == ["activities_home"]
    assert "X-Amzn-Trace-Id" in response.headers


@pytest.mark.parametrize(("host", "name"), [("4567-cruddur.example.dev", "4567-cruddur.example.dev"),
                                             ("localhost", "backend-flask")])
def test_a_host_matching_aws_xray_url_names_the_segment_and_others_get_the_service_name(
        make_xray_app, daemon, host, name):
    client = make_xray_app(AWS_XRAY_URL="*cruddur.example*").test_client()
    assert client.get("/api/activities/home", headers={"Host": host}).status_code == 200
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["name"] == name


def test_segment_trace_id_is_the_opentelemetry_trace_id(xray_app, daemon):
    response = xray_app.test_client().get("/api/activities/notifications")
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    trace_id = response.headers["X-Trace-Id"]
    assert segment["trace_id"] == f"1-{trace_id[:8]}-{trace_id[8:]}"
    assert response.headers["X-Amzn-Trace-Id"].startswith(f"Root={segment['trace_id']}")


def test_user_activities_mock_data_subsegment_with_metadata(xray_app, daemon):
    xray_app.test_client().get("/api/activities/@andrewbrown")
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert subsegment_names(segment) == ["activities_users", "mock-data"]
    (mock_data,) = [entity for entity in walk(segment) if entity["name"] == "mock-data"]
    metadata = mock_data["metadata"]["namespace"]["key"]
    assert metadata["results-size"] == 1
    assert metadata["now"].endswith("+00:00")
    assert mock_data["end_time"] >= mock_data["start_time"]


@pytest.mark.parametrize(("path", "capture"), [
    ("/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee", "activities_show"),
    ("/api/activities/search?term=cloud", "activities_search"),
    ("/api/message_groups", "message_groups"),
    ("/api/messages/@worf", "messages"),
])
def test_other_routes_are_captured(xray_app, daemon, path, capture):
    xray_app.test_client().get(path)
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert subsegment_names(segment) == [capture]


def test_errors_and_unknown_ids_close_cleanly(xray_app, daemon):
    client = xray_app.test_client()
    assert client.get("/api/activities/@nobody").status_code == 404
    assert client.post("/api/activities", json={}).status_code == 422
    segments = daemon.wait_for(lambda segments: len(segments) == 2)
    assert sorted(s["http"]["response"]["status"] for s in segments) == [404, 422]
    for segment in segments:
        assert all("end_time" in entity and not entity.get("in_progress") for entity in walk(segment))


def test_incoming_xray_header_continues_the_callers_trace(xray_app, daemon):
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    xray_app.test_client().get("/api/activities/home", headers={"X-Amzn-Trace-Id": header})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert (segment["trace_id"], segment["parent_id"]) == ("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8")


def test_traceparent_and_xray_header_agree(xray_app, daemon):
    traceparent = "00-5759e988bd862e3fe1be46a994272793-00f067aa0ba902b7-01"
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    response = xray_app.test_client().get("/api/activities/home",
                                          headers={"traceparent": traceparent, "X-Amzn-Trace-Id": header})
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert response.headers["X-Trace-Id"] == "5759e988bd862e3fe1be46a994272793"


def test_services_work_outside_a_segment(xray_app):
    """No segment (a service run outside a request): no context error, nothing raised."""
    from cruddur.services.user_activities import UserActivities
    with xray_app.app_context():
        assert [a["handle"] for a in UserActivities.run("worf")] == ["worf"]


def test_local_rules_are_derived_from_the_api_rule():
    rules, detail = sampling_rule(RULE_FILE)
    assert detail == "rule Cruddur from xray.json: 5 a second, then 10%"
    assert rules == {
        "version": 2,
        "rules": [{"description": "Cruddur", "host": "*", "http_method": "*", "url_path": "*",
                   "fixed_target": 5, "rate": 0.1}],
        "default": {"fixed_target": 5, "rate": 0.1},
    }


def test_sampling_follows_the_rule_when_the_daemon_has_none(make_app, daemon):
    """Reservoir 5 per second, then 10%: 100 quick requests give far fewer than 100 segments."""
    app = make_app({"AWS_XRAY_DAEMON_ADDRESS": daemon.address})
    client = app.test_client()
    for _ in range(100):
        client.get("/api/activities/home")
    import time
    time.sleep(0.5)
    sampled = len(daemon.segments())
    # 5 from the reservoir (maybe 10 across a second boundary) + ~10% of the rest.
    assert 5 <= sampled <= 40, sampled


def test_off_without_daemon_address_and_when_disabled(make_app, daemon):
    for overrides in ({}, {"AWS_XRAY_DAEMON_ADDRESS": daemon.address, "AWS_XRAY_SDK_ENABLED": "false"}):
        app = make_app(overrides)
        response = app.test_client().get("/api/activities/home")
        assert "X-Amzn-Trace-Id" not in response.headers
        assert app.test_client().get("/api/health").get_json()["integrations"]["xray"] == "off"
    import time
    time.sleep(0.3)
    assert daemon.documents == []


def test_health_checks_are_not_sent(xray_app, daemon):
    client = xray_app.test_client()
    client.get("/api/health")
    client.get("/api/activities/home")
    (segment,) = daemon.wait_for(lambda segments: len(segments) == 1)
    assert segment["http"]["request"]["url"].endswith("/api/activities/home")


def sql_subsegments(segment):
    return [entity for entity in walk(segment) if "sql" in entity]


def test_each_query_is_an_sql_subsegment_without_values(make_xray_app, daemon, database_url):
    client = make_xray_app(DATABASE_URL=database_url).test_client()
    client.get("/api/activities/home")  # migrates and seeds the new database
    daemon.wait_for(lambda segments: len(segments) == 1)
    client.get("/api/activities/@worf")
    segment = daemon.wait_for(lambda segments: len(segments) == 2)[-1]
    queries = sql_subsegments(segment)
    assert queries and all(entity["namespace"] == "remote" and entity["name"] for entity in queries)
    assert {entity["sql"]["database_type"] for entity in queries} == {database_url.partition(":")[0]}
    assert "'worf'" not in json.dumps(segment), "bound parameters, never the values"


def test_the_first_request_segment_holds_its_own_queries_and_not_the_migrations(make_xray_app, daemon):
    client = make_xray_app().test_client()
    for _ in range(2):
        client.get("/api/activities/home")
    first, second = daemon.wait_for(lambda segments: len(segments) == 2)
    queries = [[entity["sql"]["sanitized_query"] for entity in sql_subsegments(segment)] for segment in (first, second)]
    assert queries[0] and queries[0] == queries[1]


def test_apps_without_xray_log_nothing_of_the_sdk_for_their_queries(make_app, make_xray_app, daemon, caplog,
                                                                     monkeypatch):
    xray_app = make_xray_app()
    xray_app.test_client().get("/api/activities/home")
    daemon.wait_for(lambda segments: len(segments) == 1)
    xray_app.extensions[TELEMETRY].shutdown()  # as at a worker's exit, or a test's end
    caplog.clear()
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS")
    assert make_app().test_client().get("/api/activities/home").status_code == 200
    assert [record.getMessage() for record in caplog.records if "No segment found" in record.getMessage()] == []
