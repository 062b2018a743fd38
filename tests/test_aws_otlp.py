"""AWS X-Ray's otlp route (XRAY_EXPORT=otlp) under gunicorn, against a loopback stand-in for X-Ray's
OTLP endpoint that verifies each request's SigV4 signature with botocore, with credentials from a
role that rotates them; the collector route; and the lines that say why a route is off."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from botocore.credentials import Credentials

from cruddur.observability.sigv4 import SigV4
from tests.conftest import startup_detail
from tests.peers.aws_otlp import SignedOtlpEndpoint
from tests.peers.http import LoopbackHTTPServer, QuietHandler
from tests.peers.otlp import OtlpReceiver
from tests.processes import Gunicorn

REGION = "eu-west-2"
FIRST = ("ASIAFIRSTKEYEXAMPLE", "first-secret-fake-7d1e", "first-token-fake")
SECOND = ("ASIASECONDKEYEXAMPLE", "second-secret-fake-3b9a", "second-token-fake")
HONEYCOMB_KEY = "hcaik_fake_not_for_aws_5e1c"
# What reaches AWS: the signed headers, SigV4's own, and the HTTP client's; nothing of Honeycomb's.
XRAY_HEADERS = {"host", "content-type", "content-encoding", "content-length", "user-agent", "accept",
                "accept-encoding", "connection", "authorization", "x-amz-date", "x-amz-security-token"}
# Variables that would point boto3 at something other than what a test gives it.
AWS_VARIABLES = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN")


def xray_id(trace_id: str) -> str:
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def of_trace(trace_id: str):
    """A predicate for wait_for: the trace's SERVER span, which ends last, has arrived."""
    return lambda spans: any(span["trace_id"] == trace_id and span["kind"] == "SERVER" for span in spans)


class Role:
    """The endpoint a container role's credentials come from (AWS_CONTAINER_CREDENTIALS_FULL_URI),
    handing out the `current` key, valid for 12 minutes: boto3 refreshes such credentials before
    each use (its advisory window is 15 minutes), as it would near a real expiry."""

    def __init__(self):
        self.current = FIRST
        self._http = LoopbackHTTPServer(_RoleHandler)
        self._http.server.role = self
        self.url = self._http.url + "/credentials"

    def __enter__(self):
        self._http.start()
        return self

    def __exit__(self, *exc):
        self._http.stop()


class _RoleHandler(QuietHandler):
    def do_GET(self) -> None:
        key_id, secret, token = self.server.role.current
        expiration = (datetime.now(timezone.utc) + timedelta(minutes=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.reply(200, json.dumps({"AccessKeyId": key_id, "SecretAccessKey": secret, "Token": token,
                                    "Expiration": expiration}).encode())


@pytest.fixture(scope="module")
def role():
    with Role() as peer:
        yield peer


@pytest.fixture(scope="module")
def xray_endpoint():
    keys = {key_id: (secret, token) for key_id, secret, token in (FIRST, SECOND)}
    with SignedOtlpEndpoint("xray", REGION, keys) as peer:
        yield peer


@pytest.fixture(scope="module")
def honeycomb():
    with OtlpReceiver() as peer:
        yield peer


@pytest.fixture(scope="module")
def server(role, xray_endpoint, honeycomb, tmp_path_factory):
    """One worker on X-Ray's otlp route and Honeycomb's, its AWS credentials from the role only."""
    nowhere = tmp_path_factory.mktemp("aws") / "none"
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_VARIABLES:
            patch.delenv(name, raising=False)
        process = Gunicorn({
            "XRAY_EXPORT": "otlp", "AWS_ENDPOINT_URL_XRAY": xray_endpoint.url, "AWS_DEFAULT_REGION": REGION,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": role.url, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": str(nowhere), "AWS_CONFIG_FILE": str(nowhere),
            "OTEL_EXPORTER_OTLP_ENDPOINT": honeycomb.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}"}, workers=1)
    with process:
        yield process


@pytest.mark.parametrize("change, refusal", [
    (None, None),
    ("body", "signature does not match"),
    ("service", "signed for logs in eu-west-2"),
    ("region", "signed for xray in us-east-1"),
    ("secret", "signature does not match"),
])
def test_the_stand_in_accepts_only_a_signature_over_this_body_for_xray_in_its_region(change, refusal):
    """What every test below relies on: botocore's check of the signature that Cruddur's SigV4 makes."""
    with SignedOtlpEndpoint("xray", REGION, {FIRST[0]: (FIRST[1], None)}) as peer, requests.Session() as session:
        session.auth = SigV4(Credentials(FIRST[0], "another-secret" if change == "secret" else FIRST[1]),
                             "logs" if change == "service" else "xray", "us-east-1" if change == "region" else REGION)
        prepared = session.prepare_request(requests.Request(
            "POST", f"{peer.url}/v1/traces", data=b"", headers={"Content-Type": "application/x-protobuf"}))
        if change == "body":
            prepared.body, prepared.headers["Content-Length"] = b"\x0a\x00", "2"  # valid protobuf, not what was signed
        assert session.send(prepared, timeout=5).status_code == (403 if refusal else 200)
    assert peer.refused == ([refusal] if refusal else [])


@pytest.mark.live
def test_spans_reach_xray_signed_gzipped_and_without_honeycombs_key_the_same_as_honeycombs(
        server, xray_endpoint, honeycomb):
    response = requests.get(f"{server.url}/api/activities/@andrewbrown", timeout=5)
    trace_id = response.headers["X-Trace-Id"]
    assert response.headers["X-Amzn-Trace-Id"] == f"Root={xray_id(trace_id)}"
    in_xray = [span for span in xray_endpoint.wait_for(of_trace(trace_id)) if span["trace_id"] == trace_id]
    in_honeycomb = [span for span in honeycomb.wait_for(of_trace(trace_id)) if span["trace_id"] == trace_id]
    # The same spans, ids, attributes and resource, as both exporters are fed by one provider.
    assert sorted(in_xray, key=lambda span: span["span_id"]) == sorted(in_honeycomb, key=lambda span: span["span_id"])
    assert {"GET /api/activities/@<handle>", "mock-data"} <= {span["name"] for span in in_xray}

    assert xray_endpoint.refused == [] and set(xray_endpoint.verified) <= {FIRST[0], SECOND[0]}
    assert {request["headers"]["content-encoding"] for request in xray_endpoint.requests} == {"gzip"}
    assert {name for request in xray_endpoint.requests for name in request["headers"]} == XRAY_HEADERS
    assert {request["headers"]["x-honeycomb-team"] for request in honeycomb.requests} == {HONEYCOMB_KEY}
    output = server.read_output()
    assert startup_detail(output, "xray") == (f"on: spans over OTLP/HTTP to {xray_endpoint.url}/v1/traces "
                                              f"(SigV4, {REGION})")
    for secret in (*FIRST[1:], *SECOND[1:], HONEYCOMB_KEY):
        assert secret not in output


@pytest.mark.live
def test_credentials_that_rotate_sign_the_next_export(server, xray_endpoint, role):
    for key in (FIRST, SECOND):
        role.current = key
        trace_id = requests.get(f"{server.url}/api/activities/home", timeout=5).headers["X-Trace-Id"]
        xray_endpoint.wait_for(of_trace(trace_id))
        # One worker, one exporting thread: the last export received carried this trace, signed after the change.
        assert xray_endpoint.verified[-1] == key[0]
    assert xray_endpoint.refused == []


@pytest.mark.live
def test_the_collector_route_is_configuration_only():
    """The app's OTLP exporter sends to the Collector, which signs for X-Ray: no AWS setting needed here."""
    with OtlpReceiver() as collector, Gunicorn({"XRAY_EXPORT": "collector", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
                                                "OTEL_BSP_SCHEDULE_DELAY": "50"},
                                               workers=1) as server:
        response = requests.get(f"{server.url}/api/activities/home", timeout=5)
        trace_id = response.headers["X-Trace-Id"]
        collector.wait_for(of_trace(trace_id))
    assert response.headers["X-Amzn-Trace-Id"] == f"Root={xray_id(trace_id)}"
    assert startup_detail(server.output, "xray") == (f"on: spans through the OpenTelemetry Collector at "
                                                     f"{collector.url}/v1/traces")


@pytest.mark.parametrize("env, reason", [
    ({"AWS_DEFAULT_REGION": ""}, "no AWS region: set AWS_DEFAULT_REGION (or region in ~/.aws/config)"),
    ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
     "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the host a role"),
    ({"AWS_PROFILE": "nobody"}, "AWS configuration: The config profile (nobody) could not be found"),
    ({"AWS_ENDPOINT_URL_XRAY": "not a url"}, "AWS configuration: Invalid endpoint: not a url"),
])
def test_a_bad_aws_configuration_turns_the_otlp_route_off_with_one_line(make_app, monkeypatch, tmp_path, caplog,
                                                                         env, reason):
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    app = make_app({"XRAY_EXPORT": "otlp", "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": FIRST[0],
                    "AWS_SECRET_ACCESS_KEY": FIRST[1], "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
                    **env})
    client = app.test_client()
    assert "X-Amzn-Trace-Id" not in client.get("/api/activities/home").headers
    assert client.get("/api/health").get_json()["integrations"]["xray"] == "off"
    assert f"xray: off ({reason})" in caplog.text
    assert FIRST[1] not in caplog.text
