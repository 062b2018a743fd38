"""All four vendors on in one gunicorn, on X-Ray's and CloudWatch's daemon/watchtower routes and
on their otlp routes: one trace id in each, no secret anywhere; and nothing sent when none is set."""
import json
import os
import socket
import time

import pytest
import requests

from tests.conftest import AWS_SECRET, startup_detail
from tests.peers.aws_otlp import SignedOtlpEndpoint
from tests.peers.cloudwatch import REGION
from tests.peers.otlp import OtlpReceiver
from tests.peers.rollbar import RollbarStandIn
from tests.peers.xray import XRayDaemon
from tests.processes import Gunicorn

pytestmark = pytest.mark.live

HONEYCOMB_KEY = "hcaik_fake_cross_check_key_4f2a"
ROLLBAR_TOKEN = "rollbar-fake-cross-check-token-8b1d"
CALLER_SECRETS = {"Authorization": "Bearer fake-caller-bearer-6c3e", "Cookie": "session=fake-caller-cookie-2d9a"}
SECRETS = (HONEYCOMB_KEY, ROLLBAR_TOKEN, AWS_SECRET, "fake-caller-bearer-6c3e", "fake-caller-cookie-2d9a")
GROUP = "cruddur"
# Variables that would point boto3 at something other than the stand-ins.
AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def xray_id(trace_id: str) -> str:
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def eventually(found, timeout: float = 15):
    """found()'s first truthy value within `timeout` seconds; fails the test otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"nothing found within {timeout}s"
        time.sleep(0.05)
    return value


@pytest.fixture(scope="module")
def peers():
    keys = {"testing": (AWS_SECRET, None)}
    with OtlpReceiver() as honeycomb, XRayDaemon() as daemon, RollbarStandIn() as rollbar, \
            SignedOtlpEndpoint("xray", REGION, keys) as xray_otlp, SignedOtlpEndpoint("logs", REGION, keys) as logs_otlp:
        yield {"honeycomb": honeycomb, "daemon": daemon, "rollbar": rollbar, "xray_otlp": xray_otlp,
               "logs_otlp": logs_otlp}


@pytest.fixture(scope="module", params=["daemon", "otlp"])
def route(request, peers, moto_server, tmp_path_factory):
    """The route's name and one gunicorn worker with all four vendors on it."""
    always = tmp_path_factory.mktemp("rule") / "always.json"  # X-Ray samples every trace, for the test
    always.write_text(json.dumps({"SamplingRule": {"RuleName": "Always", "ReservoirSize": 1, "FixedRate": 1.0,
                                                   "Host": "*", "HTTPMethod": "*", "URLPath": "*"}}))
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": peers["honeycomb"].url, "OTEL_BSP_SCHEDULE_DELAY": "50",
           "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}",
           "CLOUDWATCH_LOG_GROUP": GROUP, "CLOUDWATCH_SEND_INTERVAL": "0.1",
           "ROLLBAR_ACCESS_TOKEN": ROLLBAR_TOKEN, "ROLLBAR_ENDPOINT": peers["rollbar"].endpoint,
           "ROLLBAR_TEST_INTERVAL": "0",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_DEFAULT_REGION": REGION,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_CONFIG_FILE": os.devnull,
           "AWS_EC2_METADATA_DISABLED": "true"}
    if request.param == "daemon":
        env.update(AWS_XRAY_DAEMON_ADDRESS=peers["daemon"].address, AWS_XRAY_SAMPLING_RULE_FILE=str(always),
                   AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=moto_server.url)
    else:
        env.update(XRAY_EXPORT="otlp", AWS_ENDPOINT_URL_XRAY=peers["xray_otlp"].url,
                   CLOUDWATCH_LOGS_EXPORT="otlp", AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=peers["logs_otlp"].url)
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_VARIABLES:
            patch.delenv(name, raising=False)
        server = Gunicorn(env, workers=1)
    with server:
        yield request.param, server


def test_one_request_has_one_trace_id_in_all_four_and_no_secret_reaches_any(route, peers, moto_server):
    name, server = route
    response = requests.get(f"{server.url}/rollbar/test", headers=CALLER_SECRETS, timeout=10)
    assert (response.status_code, response.text) == (200, "Hello World!")
    trace_id = response.headers["X-Trace-Id"]
    assert response.headers["X-Amzn-Trace-Id"] == f"Root={xray_id(trace_id)}"

    def server_spans(spans):
        return [span for span in spans if span["trace_id"] == trace_id and span["kind"] == "SERVER"]

    (span,) = server_spans(peers["honeycomb"].wait_for(server_spans))
    assert span["name"] == "GET /rollbar/test"
    (item,) = eventually(lambda: [item for item in peers["rollbar"].items()
                                  if item["data"]["custom"]["trace_id"] == trace_id])
    if name == "daemon":
        eventually(lambda: [s for s in peers["daemon"].segments() if s["trace_id"] == xray_id(trace_id)])
        lines = eventually(lambda: [line for line in moto_server.lines(GROUP) if line["trace_id"] == trace_id])
        shipped = [peers["daemon"].documents, moto_server.events(GROUP)]
    else:
        (in_xray,) = server_spans(peers["xray_otlp"].wait_for(server_spans))
        assert in_xray == span
        records = eventually(lambda: [record for record in peers["logs_otlp"].records()
                                      if record["trace_id"] == trace_id])
        assert {record["span_id"] for record in records} == {span["span_id"]}
        lines = [{**record["attributes"], "message": record["body"]} for record in records]
        shipped = [peers["xray_otlp"].spans(), peers["logs_otlp"].records()]
    assert [(line["message"], line["trace_id"]) for line in lines] == [("GET /rollbar/test 200", trace_id)]

    health = requests.get(f"{server.url}/api/health", timeout=10).json()
    everything = json.dumps([server.read_output(), health, peers["honeycomb"].spans(), *shipped,
                             *(entry["raw"] for entry in peers["rollbar"].received)])
    assert [secret for secret in SECRETS if secret in everything] == []


def test_each_integration_says_it_is_on_and_where_it_sends(route, peers):
    name, server = route
    health = requests.get(f"{server.url}/api/health", timeout=10).json()
    assert health["integrations"] == {"opentelemetry": "on", "xray": "on", "cloudwatch": "on", "rollbar": "on", "metrics": "on"}
    output = server.read_output()
    xray, cloudwatch = startup_detail(output, "xray"), startup_detail(output, "cloudwatch")
    if name == "daemon":
        assert xray.startswith(f"on: segments to {peers['daemon'].address} as backend-flask; rule Always")
        assert cloudwatch.startswith(f"on: log group {GROUP} in {REGION} via ")
    else:
        assert xray.startswith(f"on: spans over OTLP/HTTP to {peers['xray_otlp'].url}/v1/traces (SigV4, {REGION})")
        assert cloudwatch.startswith(f"on: log group {GROUP}, stream backend-flask over OTLP/HTTP to "
                                     f"{peers['logs_otlp'].url}/v1/logs (SigV4, {REGION})")
    assert startup_detail(output, "rollbar") == f"on: environment production, items to {peers['rollbar'].endpoint}"


def test_with_nothing_configured_nothing_is_sent(monkeypatch):
    """No vendor is set: the X-Ray daemon's and the OTLP collector's default ports hear nothing."""
    for name in list(os.environ):
        if name.startswith(("OTEL_", "AWS_XRAY", "XRAY_", "CLOUDWATCH_", "ROLLBAR_")):
            monkeypatch.delenv(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon_port, socket.socket() as collector_port:
        daemon_port.bind(("127.0.0.1", 2000))
        collector_port.bind(("127.0.0.1", 4318))
        collector_port.listen()
        for sock in (daemon_port, collector_port):
            sock.setblocking(False)
        with Gunicorn(workers=1) as server:
            for path in ("/api/activities/home", "/api/activities/@worf", "/rollbar/test"):
                requests.get(server.url + path, timeout=10)
            health = requests.get(f"{server.url}/api/health", timeout=10).json()
        with pytest.raises(BlockingIOError):
            daemon_port.recv(65536)
        with pytest.raises(BlockingIOError):
            collector_port.accept()
    assert health["integrations"] == {"opentelemetry": "on", "xray": "off", "cloudwatch": "off", "rollbar": "off", "metrics": "on"}
    assert "span GET /api/activities/home kind=SERVER" in server.output
    assert '"logger": "cruddur.access"' in server.output
