"""CloudWatch Logs against moto's server on loopback: what arrives in the log group, and when it stays off."""
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cruddur.observability import TELEMETRY
from tests.conftest import AWS_SECRET as SECRET
from tests.conftest import startup_detail
from tests.peers.cloudwatch import REGION, MotoServer
from tests.processes import Gunicorn, free_port

GROUP = "cruddur"
HOME = "/api/activities/home"


def cloudwatch_status(client) -> dict:
    response = client.get("/api/health")
    assert SECRET not in response.get_data(as_text=True)
    return response.get_json()["integrations"]["cloudwatch"]


# boto3 itself honours both endpoint variables; the app passes no endpoint of its own.
@pytest.mark.parametrize("endpoint_variable", ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_ENDPOINT_URL"])
def test_access_line_and_home_activities_arrive_with_the_request_trace_id(make_app, aws_env, moto, capsys,
                                                                          endpoint_variable):
    aws_env.delenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")
    aws_env.setenv(endpoint_variable, moto.url)
    app = make_app({"CLOUDWATCH_LOG_GROUP": GROUP})
    client = app.test_client()
    response = client.get(f"{HOME}?page=1")
    assert response.status_code == 200
    assert cloudwatch_status(client) == "on"

    app.extensions[TELEMETRY].shutdown()

    trace_id = response.headers["X-Trace-Id"]
    lines = moto.lines(GROUP)
    access = [line for line in lines if line["logger"] == "cruddur.access" and line["path"].startswith(HOME)]
    assert len(access) == 1
    assert access[0]["trace_id"] == trace_id
    assert access[0]["level"] == "INFO"
    assert {key: access[0][key] for key in ("remote_addr", "method", "scheme", "path", "status")} == {
        "remote_addr": "127.0.0.1", "method": "GET", "scheme": "http", "path": f"{HOME}?page=1", "status": 200}
    assert access[0]["time"] and access[0]["duration_ms"] >= 0
    home = [line for line in lines if line["logger"] == "cruddur.services.home_activities"]
    assert [(line["message"], line["trace_id"]) for line in home] == [("HomeActivities", trace_id)]
    # The health check is logged too, in the same per-process stream.
    assert {line["stream"] for line in lines} == {access[0]["stream"]}

    stdout = capsys.readouterr().out
    assert startup_detail(stdout, "cloudwatch") == f"on: log group {GROUP} in {REGION} via {moto.url}"
    assert SECRET not in stdout
    assert not any(SECRET in event["message"] for event in moto.events(GROUP))


def test_off_when_no_log_group_is_set(make_app, aws_env, moto, capsys):
    app = make_app()
    client = app.test_client()
    assert client.get(HOME).status_code == 200
    assert cloudwatch_status(client) == "off"
    assert "CLOUDWATCH_LOG_GROUP" in startup_detail(capsys.readouterr().out, "cloudwatch")

    app.extensions[TELEMETRY].shutdown()
    assert moto.groups() == []


@pytest.mark.parametrize("unset, reason", [
    (("AWS_DEFAULT_REGION",), "no AWS region"),
    (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "no AWS credentials"),
])
def test_off_with_one_clear_reason_when_region_or_credentials_are_missing(make_app, aws_env, moto, capsys,
                                                                          unset, reason):
    for name in unset:
        aws_env.delenv(name)
    app = make_app({"CLOUDWATCH_LOG_GROUP": GROUP})
    client = app.test_client()
    assert client.get(HOME).status_code == 200
    assert cloudwatch_status(client) == "off"

    app.extensions[TELEMETRY].shutdown()
    assert moto.groups() == []
    startup = [line for line in capsys.readouterr().out.splitlines() if "cloudwatch: off" in line]
    assert len(startup) == 1 and reason in startup[0]


def test_cloudwatch_down_at_start_serves_and_delivers_once_it_answers(make_app, aws_env, capsys):
    port = free_port()
    aws_env.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", f"http://127.0.0.1:{port}")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")  # boto3's own setting: fail fast on the closed port
    app = make_app({"CLOUDWATCH_LOG_GROUP": GROUP})
    client = app.test_client()
    first = client.get(HOME)
    assert first.status_code == 200 and client.get(HOME).status_code == 200

    # CloudWatch comes back, without the group: the queued lines still arrive.
    with MotoServer(port) as moto:
        assert moto.groups() == []
        app.extensions[TELEMETRY].shutdown()
        trace_ids = [line["trace_id"] for line in moto.lines(GROUP) if line["logger"] == "cruddur.access"]
    assert first.headers["X-Trace-Id"] in trace_ids and len(trace_ids) == 2
    # Nothing on the request path talked to CloudWatch, so nothing there failed.
    assert "cloudwatch" not in capsys.readouterr().err.lower()


def test_cloudwatch_down_throughout_never_hangs_the_shutdown(make_app, aws_env, capsys):
    aws_env.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", f"http://127.0.0.1:{free_port()}")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    app = make_app({"CLOUDWATCH_LOG_GROUP": GROUP})
    client = app.test_client()
    assert [client.get(HOME).status_code for _ in range(3)] == [200] * 3

    started = time.monotonic()
    app.extensions[TELEMETRY].shutdown(timeout_s=3)
    assert time.monotonic() - started < 4
    # Lines that could not be delivered are counted, not dropped silently, two per request, and
    # the store's line that it seeded the new database.
    # A failed batch is told too, once a minute in the whole process.
    warnings = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines() if '"WARNING"' in line]
    assert warnings[-1] == (f"cloudwatch: 7 of 7 log lines not delivered to {GROUP} (0 dropped from a full queue, "
                            "the rest failed or unsent at exit)")
    assert warnings[:-1] in ([], [f"cloudwatch: 7 log lines not delivered to {GROUP}: Could not connect to the "
                                  f'endpoint URL: "{os.environ["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"]}/"'])


def test_a_full_queue_drops_the_newest_lines_and_counts_them(make_app, aws_env, capsys, monkeypatch):
    from cruddur.observability import cloudwatch

    monkeypatch.setattr(cloudwatch, "MAX_QUEUED_EVENTS", 3)
    aws_env.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", f"http://127.0.0.1:{free_port()}")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    app = make_app({"CLOUDWATCH_LOG_GROUP": GROUP})
    client = app.test_client()
    # Sooner than watchtower's first send: 7 lines, of which the queue holds 3.
    assert [client.get(HOME).status_code for _ in range(3)] == [200] * 3

    app.extensions[TELEMETRY].shutdown(timeout_s=3)
    warnings = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines() if '"WARNING"' in line]
    assert warnings[-1] == (f"cloudwatch: 7 of 7 log lines not delivered to {GROUP} (4 dropped from a full queue, "
                            "the rest failed or unsent at exit)")


@pytest.mark.live
def test_gunicorn_workers_ship_every_access_line_and_sigterm_flushes_them(aws_env, moto):
    server = Gunicorn({"CLOUDWATCH_LOG_GROUP": GROUP}, workers=2).start()
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: requests.get(f"{server.url}{HOME}", timeout=10), range(40)))
    assert all(response.status_code == 200 for response in responses)
    # Sent every few seconds, and the group is made by the first send: whatever
    # arrives below was flushed by SIGTERM.
    assert GROUP not in moto.groups()
    output = server.stop()

    lines = moto.lines(GROUP)
    access = [line for line in lines if line["logger"] == "cruddur.access" and line["path"] == HOME]
    assert sorted(line["trace_id"] for line in access) == sorted(r.headers["X-Trace-Id"] for r in responses)
    assert len({line["stream"] for line in access}) == 2, "each worker ships to its own stream"
    assert output.count("cloudwatch: on") == 2
    assert "Warning" not in output
    assert SECRET not in output
    assert not any(SECRET in event["message"] for event in moto.events(GROUP))


def test_a_failing_query_is_an_error_line_with_the_trace_id(make_app, aws_env, moto):
    app = make_app({"CLOUDWATCH_LOG_GROUP": GROUP, "DATABASE_URL": f"postgresql://cruddur@127.0.0.1:{free_port()}/x"})
    response = app.test_client().get(HOME)
    assert response.status_code == 503
    app.extensions[TELEMETRY].shutdown()
    (line,) = [line for line in moto.lines(GROUP) if line["level"] == "ERROR"]
    assert line["message"].startswith("database unavailable:") and line["trace_id"] == response.headers["X-Trace-Id"]


def test_no_line_is_lost_while_the_first_send_makes_the_stream(aws_env, moto):
    """watchtower drops every line logged while it makes a missing stream (at its first send,
    SEND_INTERVAL_S after a worker's first line): a worker kept busy across that send ships
    every line all the same. Before the stream was made first, 6 of 976 lines were lost here."""
    from cruddur.observability.cloudwatch import SEND_INTERVAL_S

    server = Gunicorn({"CLOUDWATCH_LOG_GROUP": GROUP}, workers=1).start()
    until = time.monotonic() + SEND_INTERVAL_S + 2

    def serve(_) -> list[str]:
        with requests.Session() as session:
            trace_ids = []
            while time.monotonic() < until:
                trace_ids.append(session.get(f"{server.url}{HOME}", timeout=10).headers["X-Trace-Id"])
            return trace_ids

    with ThreadPoolExecutor(4) as pool:
        served = [trace_id for trace_ids in pool.map(serve, range(4)) for trace_id in trace_ids]
    server.stop()
    shipped = [line["trace_id"] for line in moto.lines(GROUP) if line["logger"] == "cruddur.access"]
    assert set(served) <= set(shipped), f"{len(set(served) - set(shipped))} of {len(served)} lines lost"
