"""X-Ray and CloudWatch Logs over OTLP (XRAY_EXPORT=otlp, CLOUDWATCH_LOGS_EXPORT=otlp), against
loopback stand-ins for AWS's endpoints that verify each request's SigV4 signature with botocore."""
import json
import re
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from cruddur.observability import TELEMETRY
from cruddur.observability.sigv4 import SigV4
from tests.conftest import AWS_SECRET, startup_detail
from tests.peers.aws_otlp import SignedOtlpEndpoint
from tests.peers.http import LoopbackHTTPServer, QuietHandler
from tests.peers.otlp import OtlpReceiver
from tests.processes import BACKEND_DIR

REGION = "eu-west-2"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
HONEYCOMB_KEY = "hcaik_fake_not_for_aws_5e1c"
RULE_FILE = Path(__file__).resolve().parent.parent / "aws" / "json" / "xray.json"


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """boto3's chain finds these keys and region, and nothing from ~/.aws or a metadata service."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "CLOUDWATCH_LOG_GROUP",
                 "AWS_XRAY_DAEMON_ADDRESS", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return monkeypatch


@pytest.fixture
def always_rule(tmp_path):
    """The journal's rule sampling every trace, so each test sees its spans; the real rule is tested below."""
    rule = json.loads(RULE_FILE.read_text())
    rule["SamplingRule"].update(FixedRate=1.0)
    path = tmp_path / "always.json"
    path.write_text(json.dumps(rule))
    return str(path)


@pytest.fixture
def xray_endpoint(aws):
    with SignedOtlpEndpoint("xray", REGION, {KEY_ID: (AWS_SECRET, None)}) as peer:
        aws.setenv("AWS_ENDPOINT_URL_XRAY", peer.url)
        yield peer


@pytest.fixture
def logs_endpoint(aws):
    with SignedOtlpEndpoint("logs", REGION, {KEY_ID: (AWS_SECRET, None)}) as peer:
        aws.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", peer.url)
        yield peer


@pytest.fixture
def honeycomb():
    with OtlpReceiver() as peer:
        yield peer


def xray_env(rule_file: str, **extra) -> dict[str, str]:
    return {"XRAY_EXPORT": "otlp", "AWS_XRAY_SAMPLING_RULE_FILE": rule_file, **extra}


def by_name(spans: list[dict]) -> dict[str, dict]:
    return {span["name"]: span for span in spans}


# --- the stand-in's signature check, which every test below relies on -----------------------

def signed_post(url: str, service: str, body: bytes, region: str = REGION, secret: str = AWS_SECRET):
    from botocore.credentials import Credentials

    with requests.Session() as session:
        session.auth = SigV4(Credentials(KEY_ID, secret), service, region)
        return session.prepare_request(requests.Request("POST", url, data=body,
                                                        headers={"Content-Type": "application/x-protobuf",
                                                                 "Connection": "close"}))


@pytest.mark.parametrize("change, reason", [
    (None, None),
    ("body", "signature does not match"),
    ("service", "signed for logs in eu-west-2"),
    ("region", "signed for xray in us-east-1"),
    ("secret", "signature does not match"),
])
def test_the_stand_in_accepts_only_a_signature_over_this_body_for_xray_in_its_region(change, reason):
    with SignedOtlpEndpoint("xray", REGION, {KEY_ID: (AWS_SECRET, None)}) as peer:
        prepared = signed_post(peer.url + "/v1/traces", "logs" if change == "service" else "xray", b"",
                               region="us-east-1" if change == "region" else REGION,
                               secret="another-secret" if change == "secret" else AWS_SECRET)
        if change == "body":
            prepared.body = b"\x0a\x00"  # an empty ResourceSpans: valid protobuf, not what was signed
            prepared.headers["Content-Length"] = "2"
        with requests.Session() as session:
            answer = session.send(prepared, timeout=5)
    assert answer.status_code == (403 if reason else 200)
    assert peer.refused == ([reason] if reason else [])


# --- X-Ray over OTLP ---------------------------------------------------------------------

def test_request_spans_arrive_signed_at_xrays_endpoint_with_the_journals_captures(
        make_app, xray_endpoint, honeycomb, always_rule, capsys):
    app = make_app(xray_env(always_rule, OTEL_EXPORTER_OTLP_ENDPOINT=honeycomb.url,
                            OTEL_EXPORTER_OTLP_HEADERS=f"x-honeycomb-team={HONEYCOMB_KEY}"))
    response = app.test_client().get("/api/activities/@andrewbrown")
    app.extensions[TELEMETRY].shutdown()

    trace_id = response.headers["X-Trace-Id"]
    assert response.headers["X-Amzn-Trace-Id"] == f"Root=1-{trace_id[:8]}-{trace_id[8:]}"
    spans = by_name(xray_endpoint.spans())
    server, route, mock_data = spans["GET /api/activities/@<handle>"], spans["activities_users"], spans["mock-data"]
    assert {span["trace_id"] for span in spans.values()} == {trace_id}
    assert (server["kind"], route["kind"], mock_data["kind"]) == ("SERVER", "INTERNAL", "INTERNAL")
    assert route["parent_span_id"] == server["span_id"] and mock_data["parent_span_id"] == route["span_id"]
    assert mock_data["attributes"]["namespace.key.results-size"] == 1
    assert mock_data["attributes"]["namespace.key.now"].endswith("+00:00")
    assert server["attributes"]["http.response.status_code"] == 200
    assert server["service_name"] == "backend-flask"
    # Signed for xray, gzipped, and Honeycomb's key stays with Honeycomb.
    assert xray_endpoint.refused == [] and set(xray_endpoint.verified) == {KEY_ID}
    assert {request["headers"]["content-encoding"] for request in xray_endpoint.requests} == {"gzip"}
    assert not any("x-honeycomb-team" in request["headers"] for request in xray_endpoint.requests)
    assert {request["headers"]["x-honeycomb-team"] for request in honeycomb.requests} == {HONEYCOMB_KEY}
    # Honeycomb gets the same spans.
    assert set(by_name(honeycomb.spans())) == set(spans)
    assert startup_detail(capsys.readouterr().out, "xray") == (
        f"on: spans over OTLP/HTTP to {xray_endpoint.url}/v1/traces (SigV4, {REGION}); "
        "sampled by rule Cruddur from always.json: 5 a second, then 100%")


def test_a_refused_signature_is_counted_and_never_felt_by_a_request(make_app, aws, always_rule, capsys):
    with SignedOtlpEndpoint("xray", REGION, {KEY_ID: ("not-the-secret-the-app-has", None)}) as peer:
        aws.setenv("AWS_ENDPOINT_URL_XRAY", peer.url)
        app = make_app(xray_env(always_rule))
        client = app.test_client()
        assert [client.get("/api/activities/home").status_code for _ in range(3)] == [200] * 3
        app.extensions[TELEMETRY].shutdown()
    assert peer.spans() == [] and peer.refused and set(peer.refused) == {"signature does not match"}
    output = capsys.readouterr().out
    # 3 requests of 3 spans each (SERVER, the route's, the home feed's), plus their queries'.
    (lost, ended), = re.findall(r"opentelemetry: (\d+) of (\d+) spans not delivered to xray", output)
    assert lost == ended and int(ended) > 9
    assert AWS_SECRET not in output


def test_the_xray_sdk_is_not_imported_and_no_daemon_is_polled(xray_endpoint, always_rule):
    script = ("import sys; from cruddur import create_app; app = create_app(); "
              "app.test_client().get('/api/activities/home'); "
              "from cruddur.observability import TELEMETRY; app.extensions[TELEMETRY].shutdown(); "
              "print(sorted(name for name in sys.modules if name.startswith('aws_xray_sdk')))")
    result = subprocess.run([sys.executable, "-c", script], cwd=BACKEND_DIR, capture_output=True, text=True,
                            env={**os.environ, **xray_env(always_rule)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    assert len([span for span in xray_endpoint.spans() if span["kind"] != "CLIENT"]) == 3


def test_xrays_rule_decides_for_xray_and_honeycomb_keeps_every_trace(make_app, xray_endpoint, honeycomb):
    """Reservoir 5 per second, then 10%, from aws/json/xray.json: 100 quick requests give far
    fewer traces in X-Ray, all of them in Honeycomb."""
    app = make_app({"XRAY_EXPORT": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": honeycomb.url})
    client = app.test_client()
    trace_ids = {client.get("/api/activities/home").headers["X-Trace-Id"] for _ in range(100)}
    app.extensions[TELEMETRY].shutdown()
    in_xray = {span["trace_id"] for span in xray_endpoint.spans()}
    assert {span["trace_id"] for span in honeycomb.spans()} == trace_ids
    assert in_xray <= trace_ids and 5 <= len(in_xray) <= 40, len(in_xray)
    # A trace is kept or dropped whole.
    assert all(len([s for s in xray_endpoint.spans() if s["trace_id"] == t and s["kind"] != "CLIENT"]) == 3
               for t in in_xray)


def test_a_callers_sampled_trace_is_kept_in_xray_and_its_unsampled_one_nowhere(make_app, xray_endpoint, honeycomb):
    """As the SDK keeps a caller's Sampled=1 whatever the reservoir: 30 requests in a second, far
    past its 5, all continue sampled callers and all reach X-Ray; a caller's Sampled=0 reaches neither."""
    app = make_app({"XRAY_EXPORT": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": honeycomb.url})
    client = app.test_client()
    callers = {f"{n:032x}" for n in range(1, 31)}
    for trace_id in callers:
        client.get("/api/activities/home",
                   headers={"X-Amzn-Trace-Id": f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent=53995c3f42cd8ad8;Sampled=1"})
    unsampled = "5759e988bd862e3fe1be46a994272793"
    client.get("/api/activities/home", headers={"traceparent": f"00-{unsampled}-53995c3f42cd8ad8-00"})
    app.extensions[TELEMETRY].shutdown()
    assert {span["trace_id"] for span in xray_endpoint.spans()} == callers
    assert unsampled not in {span["trace_id"] for span in honeycomb.spans()}
    # Honeycomb sees X-Ray's decision on every span.
    assert {span["attributes"]["cruddur.xray.sampled"] for span in honeycomb.spans()} == {True}


@pytest.mark.parametrize("env, reason", [
    ({"XRAY_EXPORT": "udp"}, "XRAY_EXPORT is 'udp': use daemon, otlp or collector"),
    ({"XRAY_EXPORT": "daemon"}, "XRAY_EXPORT is daemon: set AWS_XRAY_DAEMON_ADDRESS (e.g. xray-daemon:2000)"),
])
def test_a_route_that_cannot_start_says_why_in_one_line(make_app, aws, capsys, env, reason):
    app = make_app(env)
    assert app.test_client().get("/api/health").get_json()["integrations"]["xray"] == "off"
    assert startup_detail(capsys.readouterr().out, "xray") == f"off: {reason}"


def test_without_a_region_the_otlp_route_is_off_and_sends_nothing(make_app, aws, xray_endpoint, always_rule, capsys):
    aws.delenv("AWS_DEFAULT_REGION")
    app = make_app(xray_env(always_rule))
    assert app.test_client().get("/api/activities/home").status_code == 200
    app.extensions[TELEMETRY].shutdown()
    assert xray_endpoint.requests == []
    assert startup_detail(capsys.readouterr().out, "xray").startswith("off: no AWS region")


# --- CloudWatch Logs over OTLP -------------------------------------------------------------

def logs_env(**extra) -> dict[str, str]:
    return {"CLOUDWATCH_LOGS_EXPORT": "otlp", "CLOUDWATCH_LOG_GROUP": "cruddur", **extra}


def test_log_records_arrive_signed_with_group_stream_and_the_requests_trace_and_span(
        make_app, logs_endpoint, honeycomb, capsys):
    app = make_app(logs_env(OTEL_EXPORTER_OTLP_ENDPOINT=honeycomb.url))
    response = app.test_client().get("/api/activities/home?page=1")
    app.extensions[TELEMETRY].shutdown()

    trace_id = response.headers["X-Trace-Id"]
    records = [r for r in logs_endpoint.records() if r["trace_id"] == trace_id]
    access = [r for r in records if json.loads(r["body"])["logger"] == "cruddur.access"]
    home = [r for r in records if json.loads(r["body"])["logger"] == "cruddur.services.home_activities"]
    assert len(access) == 1 and len(home) == 1
    spans = by_name(honeycomb.spans())
    # The feed logs inside the request's span; the access line is written as the request ends, inside it too.
    assert home[0]["span_id"] == spans["GET /api/activities/home"]["span_id"]
    assert access[0]["span_id"] == spans["GET /api/activities/home"]["span_id"]
    line = json.loads(access[0]["body"])
    assert (line["trace_id"], line["path"], line["status"]) == (trace_id, "/api/activities/home?page=1", 200)
    assert access[0]["attributes"]["fields"]["status"] == 200
    assert "trace_id" not in access[0]["attributes"]
    assert access[0]["severity"] == "INFO" and access[0]["resource"]["service.name"] == "backend-flask"
    assert {(r["group"], r["stream"]) for r in logs_endpoint.records()} == {("cruddur", "backend-flask")}
    assert logs_endpoint.refused == [] and set(logs_endpoint.verified) == {KEY_ID}
    output = capsys.readouterr().out
    assert startup_detail(output, "cloudwatch") == (
        f"on: log group cruddur, stream backend-flask over OTLP/HTTP to {logs_endpoint.url}/v1/logs (SigV4, {REGION})")
    assert "not delivered" not in output


def test_records_rejected_in_partial_success_are_counted_as_not_delivered(make_app, logs_endpoint, capsys):
    logs_endpoint.rejected = 1
    app = make_app(logs_env())
    client = app.test_client()
    assert [client.get("/api/activities/home").status_code for _ in range(3)] == [200] * 3
    app.extensions[TELEMETRY].shutdown()
    batches = len(logs_endpoint.requests)
    arrived = len(logs_endpoint.records())
    warnings = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"WARNING"' in line]
    (summary,) = [w for w in warnings if w.get("not_delivered")]
    assert batches >= 1 and summary["not_delivered"] == batches == summary["total"] - arrived
    assert summary["rejected"] == batches


def test_a_refused_log_export_is_counted_and_never_felt_by_a_request(make_app, aws, capsys):
    with SignedOtlpEndpoint("logs", REGION, {"AKIAOTHERKEYEXAMPLE": (AWS_SECRET, None)}) as peer:
        aws.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", peer.url)
        app = make_app(logs_env())
        client = app.test_client()
        assert [client.get("/api/activities/home").status_code for _ in range(3)] == [200] * 3
        app.extensions[TELEMETRY].shutdown()
    assert peer.records() == [] and set(peer.refused) == {f"unknown access key {KEY_ID}"}
    (summary,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"not_delivered"' in line]
    assert summary["not_delivered"] == summary["total"] >= 6


# --- credentials that rotate ---------------------------------------------------------------

class ContainerCredentials:
    """The endpoint a container role's credentials come from (AWS_CONTAINER_CREDENTIALS_FULL_URI),
    handing out whichever key is current, valid for 12 minutes: boto3 refreshes such a set
    before each use (its advisory window is 15 minutes), as it would near a real expiry."""

    def __init__(self):
        self.current = ("ASIAFIRSTKEYEXAMPLE", "first-secret-fake", "first-token-fake")
        self.served = 0
        self._http = LoopbackHTTPServer(_CredentialsHandler)
        self._http.server.credentials = self
        self.url = self._http.url + "/credentials"

    def __enter__(self):
        self._http.start()
        return self

    def __exit__(self, *exc):
        self._http.stop()


class _CredentialsHandler(QuietHandler):
    def do_GET(self) -> None:
        credentials = self.server.credentials
        key_id, secret, token = credentials.current
        credentials.served += 1
        expiration = (datetime.now(timezone.utc) + timedelta(minutes=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.reply(200, json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret, "Token": token,
                                    "Expiration": expiration}).encode())


def test_rotated_credentials_sign_the_next_export(make_app, aws, always_rule):
    first = ("ASIAFIRSTKEYEXAMPLE", "first-secret-fake", "first-token-fake")
    second = ("ASIASECONDKEYEXAMPLE", "second-secret-fake", "second-token-fake")
    aws.delenv("AWS_ACCESS_KEY_ID")
    aws.delenv("AWS_SECRET_ACCESS_KEY")
    keys = {key_id: (secret, token) for key_id, secret, token in (first, second)}
    with ContainerCredentials() as role, SignedOtlpEndpoint("xray", REGION, keys) as peer:
        aws.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", role.url)
        aws.setenv("AWS_ENDPOINT_URL_XRAY", peer.url)
        app = make_app(xray_env(always_rule, OTEL_BSP_SCHEDULE_DELAY="100"))
        client = app.test_client()
        client.get("/api/activities/home")
        deadline = time.monotonic() + 10
        while not peer.verified and time.monotonic() < deadline:
            time.sleep(0.05)
        role.current = second
        client.get("/api/activities/notifications")
        while second[0] not in peer.verified and time.monotonic() < deadline:
            time.sleep(0.05)
        app.extensions[TELEMETRY].shutdown()
    assert peer.refused == []
    assert peer.verified[0] == first[0] and peer.verified[-1] == second[0]
    assert {span["name"] for span in peer.spans()} >= {"activities_home", "activities_notifications"}


def test_health_checks_get_no_route_span(make_app, xray_endpoint, always_rule):
    app = make_app(xray_env(always_rule))
    client = app.test_client()
    client.get("/api/health")
    client.get("/api/activities/home")
    app.extensions[TELEMETRY].shutdown()
    assert {span["name"] for span in xray_endpoint.spans() if span["kind"] != "CLIENT"} == {
        "GET /api/activities/home", "activities_home", "home-activites-mock-data"}
