"""All four integrations together: one trace id in each, no secret anywhere, nothing sent when off."""
import json
import os
import socket
import time

import pytest
import requests

from cruddur.observability import TELEMETRY
from tests.conftest import AWS_SECRET
from tests.peers.aws_otlp import SignedOtlpEndpoint
from tests.peers.cloudwatch import REGION
from tests.peers.otlp import OtlpReceiver
from tests.peers.rollbar import RollbarStandIn
from tests.peers.xray import XRayDaemon
from tests.processes import Gunicorn

HONEYCOMB_KEY = "hcaik_fake_cross_check_key_4f2a"
ROLLBAR_TOKEN = "rollbar-fake-cross-check-token-8b1d"
CALLER_SECRETS = {"Authorization": "Bearer fake-caller-bearer-6c3e", "Cookie": "session=fake-caller-cookie-2d9a"}
SECRETS = [HONEYCOMB_KEY, ROLLBAR_TOKEN, AWS_SECRET, "fake-caller-bearer-6c3e", "fake-caller-cookie-2d9a"]
INTEGRATION_VARIABLES = ("OTEL_", "AWS_XRAY", "CLOUDWATCH_", "ROLLBAR_")


@pytest.fixture
def peers():
    with OtlpReceiver() as otlp, XRayDaemon() as xray, RollbarStandIn() as rollbar:
        yield otlp, xray, rollbar


@pytest.fixture
def aws_otlp(aws_env):
    """X-Ray's and CloudWatch Logs' OTLP endpoints, taking aws_env's keys."""
    keys = {"testing": (AWS_SECRET, None)}
    with SignedOtlpEndpoint("xray", REGION, keys) as xray, SignedOtlpEndpoint("logs", REGION, keys) as logs:
        aws_env.setenv("AWS_ENDPOINT_URL_XRAY", xray.url)
        aws_env.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logs.url)
        yield xray, logs


def all_on(otlp, xray, rollbar) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={HONEYCOMB_KEY}",
        "AWS_XRAY_DAEMON_ADDRESS": xray.address,
        "CLOUDWATCH_LOG_GROUP": "cruddur",
        "ROLLBAR_ACCESS_TOKEN": ROLLBAR_TOKEN,
        "ROLLBAR_ENDPOINT": rollbar.endpoint,
    }


def xray_id(trace_id: str) -> str:
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


@pytest.mark.parametrize("route", ["daemon", "otlp"])
def test_one_request_has_one_trace_id_in_all_four_and_no_secret_leaks(peers, aws_env, moto, make_app, capfd, route,
                                                                       request):
    otlp, xray, rollbar = peers
    env = all_on(otlp, xray, rollbar)
    if route == "otlp":
        xray_endpoint, logs_endpoint = request.getfixturevalue("aws_otlp")
        del env["AWS_XRAY_DAEMON_ADDRESS"]
        env.update(XRAY_EXPORT="otlp", CLOUDWATCH_LOGS_EXPORT="otlp")
    app = make_app(env)
    client = app.test_client()
    response = client.get("/rollbar/test", headers=CALLER_SECRETS)
    assert (response.status_code, response.text) == (200, "Hello World!")
    trace_id = response.headers["X-Trace-Id"]
    health = client.get("/api/health").get_json()
    app.extensions[TELEMETRY].shutdown()

    spans = otlp.spans()
    assert [s["name"] for s in spans if s["trace_id"] == trace_id and s["kind"] == "SERVER"] == ["GET /rollbar/test"]
    if route == "daemon":
        assert [s["trace_id"] for s in xray.segments()] == [xray_id(trace_id)]
        access = [line for line in moto.lines("cruddur") if line["logger"] == "cruddur.access"]
        shipped = [json.dumps(moto.events("cruddur")), json.dumps(xray.documents)]
    else:
        # The first trace of the second: kept by the rule's reservoir. The daemon is never sent to.
        # (The other trace is Rollbar's post, a CLIENT span of its own thread.)
        assert [s["name"] for s in xray_endpoint.spans() if s["trace_id"] == trace_id][-1] == "GET /rollbar/test"
        assert xray.documents == []
        records = [record for record in logs_endpoint.records() if record["trace_id"] == trace_id]
        access = [line for line in map(json.loads, (r["body"] for r in records)) if line["logger"] == "cruddur.access"]
        assert {record["span_id"] for record in records} <= {s["span_id"] for s in spans if s["trace_id"] == trace_id}
        assert moto.groups() == []
        shipped = [json.dumps(xray_endpoint.spans()), json.dumps(logs_endpoint.records())]
    assert [line["trace_id"] for line in access if line["path"] == "/rollbar/test"] == [trace_id]
    (item,) = rollbar.items()
    assert item["data"]["custom"]["trace_id"] == trace_id
    assert response.headers["X-Amzn-Trace-Id"].startswith(f"Root={xray_id(trace_id)}")

    assert set(health["integrations"].values()) == {"on"}, health
    output = capfd.readouterr()
    everything = "\n".join([
        output.out, output.err, json.dumps(spans), json.dumps(health), *shipped,
        *(entry["raw"] for entry in rollbar.received),
    ])
    for secret in SECRETS:
        assert secret not in everything


@pytest.mark.live
def test_gunicorn_with_all_four_flushes_everything_on_sigterm(peers, aws_env, moto):
    otlp, xray, rollbar = peers
    server = Gunicorn({**all_on(otlp, xray, rollbar), "OTEL_BSP_SCHEDULE_DELAY": "600000"}, workers=2).start()
    homes = [requests.get(f"{server.url}/api/activities/home", timeout=10) for _ in range(10)]
    reported = requests.get(f"{server.url}/rollbar/test", timeout=10)
    output = server.stop()

    trace_ids = {r.headers["X-Trace-Id"] for r in [*homes, reported]}
    assert {s["trace_id"] for s in otlp.spans() if s["kind"] == "SERVER"} == trace_ids
    logged = {line["trace_id"] for line in moto.lines("cruddur") if line["logger"] == "cruddur.access"}
    assert trace_ids <= logged
    assert {s["trace_id"] for s in xray.segments()} <= {xray_id(t) for t in trace_ids}
    assert [item["data"]["custom"]["trace_id"] for item in rollbar.items()] == [reported.headers["X-Trace-Id"]]
    for secret in SECRETS[:3]:
        assert secret not in output


def test_with_nothing_configured_nothing_is_sent(monkeypatch):
    """No peer is configured: the X-Ray daemon's and the OTLP collector's default ports hear nothing."""
    for name in list(os.environ):
        if name.startswith(INTEGRATION_VARIABLES):
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
        time.sleep(0.5)
        with pytest.raises(BlockingIOError):
            daemon_port.recv(65536)
        with pytest.raises(BlockingIOError):
            collector_port.accept()
    assert health["integrations"] == {"opentelemetry": "on", "xray": "off", "cloudwatch": "off", "rollbar": "off"}
    assert "span GET /api/activities/home kind=SERVER" in server.output
    assert '"logger": "cruddur.access"' in server.output
