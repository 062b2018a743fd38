"""Every query traced: a CLIENT span per statement under the request, with db.system and the
statement's text without its values, proven against the OTLP receiver on both stores."""
import threading
import time

import pytest
from sqlalchemy import text

from tests.peers.otlp import OtlpReceiver
from tests.test_opentelemetry import served
from tests.test_store import engine

SECRET = "zebra-4f1c-literal"


@pytest.fixture
def receiver():
    with OtlpReceiver() as peer:
        yield peer


@pytest.fixture
def traced(make_app, receiver, database_url):
    app = make_app({"DATABASE_URL": database_url, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                    "OTEL_BSP_SCHEDULE_DELAY": "50"})
    # The first request migrates and seeds, untraced; the tests look at the requests after it.
    assert app.test_client().get("/api/health").status_code == 200
    app.test_client().get("/api/activities/home")
    receiver.wait_for(served(1))
    return app


def statements(spans, trace_id):
    return [s for s in spans if s["trace_id"] == trace_id and "db.statement" in s["attributes"]]


def request_spans(receiver, response):
    trace_id = response.headers["X-Trace-Id"]
    spans = receiver.wait_for(lambda spans: any(s["kind"] == "SERVER" and s["trace_id"] == trace_id for s in spans))
    server = next(s for s in spans if s["kind"] == "SERVER" and s["trace_id"] == trace_id)
    return server, statements(spans, trace_id), [s for s in spans if s["trace_id"] == trace_id]


def test_each_statement_is_a_client_span_under_the_request(traced, receiver, database_url):
    response = traced.test_client().get("/api/activities/@worf")
    assert response.status_code == 200
    server, queries, spans = request_spans(receiver, response)
    system = database_url.split(":", 1)[0]
    # The user, their cruds, the cruds' replies; a connection from the pool is no span.
    assert len(queries) == 3
    assert [s for s in spans if s["kind"] == "CLIENT"] == queries
    for span in queries:
        assert (span["kind"], span["parent_span_id"]) == ("CLIENT", server["span_id"])
        assert span["attributes"]["db.system"] == system
        assert span["attributes"]["db.statement"].startswith("SELECT ")
        assert "worf" not in str(span["attributes"])


def test_home_queries_are_children_of_the_journals_custom_span(traced, receiver):
    response = traced.test_client().get("/api/activities/home")
    server, queries, spans = request_spans(receiver, response)
    custom = next(s for s in spans if s["name"] == "home-activites-mock-data")
    assert custom["parent_span_id"] == server["span_id"]
    assert [s["parent_span_id"] for s in queries] == [custom["span_id"]] * 2


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/activities/search", None),
    ("POST", "/api/activities", {"message": SECRET, "ttl": "1-day"}),
    ("POST", "/api/activities/248959df-3079-4947-b847-9e0892d1bab4/reply", {"message": SECRET}),
    ("POST", "/api/messages", {"user_receiver_handle": "coco", "message": SECRET}),
])
def test_no_value_reaches_a_statements_span(traced, receiver, method, path, body):
    response = traced.test_client().open(path, method=method, json=body, query_string={"term": SECRET})
    assert response.status_code == 200
    _, queries, _ = request_spans(receiver, response)
    assert queries and any(s["attributes"]["db.statement"].split()[0] in ("INSERT", "SELECT") for s in queries)
    for span in queries:
        assert SECRET not in str(span)
        assert "1-day" not in span["attributes"]["db.statement"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_slow_query_is_a_long_db_span_under_the_request(traced, receiver, database_url):
    """A writer holding the table's lock makes the feed's query wait: the wait is the DB span."""
    with engine(database_url) as db, db.connect() as blocker:
        blocker.execute(text("LOCK TABLE activities IN ACCESS EXCLUSIVE MODE"))
        answers = []
        request = threading.Thread(target=lambda: answers.append(traced.test_client().get("/api/activities/@worf")))
        request.start()
        time.sleep(1.0)
        blocker.rollback()
        request.join(10)
    (response,) = answers
    assert response.status_code == 200
    server, queries, _ = request_spans(receiver, response)
    slow = max(queries, key=lambda span: span["duration_s"])
    assert slow["duration_s"] >= 0.9 and slow["parent_span_id"] == server["span_id"]
    assert slow["attributes"]["db.statement"].startswith("SELECT activities.uuid")


def test_a_first_request_left_untraced_leaves_the_statements_of_the_next_traced(make_app, receiver):
    """The engine is the instrumentation's only when made outside a suppressed (untraced) request."""
    app = make_app({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
                    "OTEL_PYTHON_FLASK_EXCLUDED_URLS": "api/activities/notifications"})
    client = app.test_client()
    assert client.get("/api/activities/notifications").status_code == 200
    _, queries, _ = request_spans(receiver, client.get("/api/activities/@worf"))
    assert len(queries) == 3
