"""Every query traced: a CLIENT span per statement under the request, with db.system and the
statement's text without its values, on both stores (the in-memory exporter on the process's provider)."""
import threading
import time

import pytest
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from tests.test_store import engine

SECRET = "zebra-4f1c-literal"


@pytest.fixture
def client(make_app, spans, database_url):
    client = make_app({"DATABASE_URL": database_url}).test_client()
    # The first use migrates and seeds, untraced; the tests look at the requests after it.
    assert client.get("/api/activities/home").status_code == 200
    spans.clear()
    return client


def request_spans(spans, response):
    """The request's SERVER span, its statements' spans and all its spans."""
    trace_id = int(response.headers["X-Trace-Id"], 16)
    found = [span for span in spans.get_finished_spans() if span.context.trace_id == trace_id]
    (server,) = [span for span in found if span.kind == SpanKind.SERVER]
    return server, [span for span in found if "db.statement" in span.attributes], found


def test_each_statement_is_a_client_span_under_the_request(client, spans, database_url):
    response = client.get("/api/activities/@worf")
    assert response.status_code == 200
    server, queries, found = request_spans(spans, response)
    # The user, their cruds, the cruds' replies (under the journal's mock-data span); a connection
    # from the pool is no span.
    (mock_data,) = [span for span in found if span.name == "mock-data"]
    assert [span for span in found if span.kind == SpanKind.CLIENT] == queries and len(queries) == 3
    assert [span.parent.span_id for span in queries] == [server.context.span_id] + [mock_data.context.span_id] * 2
    for span in queries:
        assert (span.instrumentation_scope.name, span.attributes["db.system"]) == (
            "opentelemetry.instrumentation.sqlalchemy", database_url.split(":", 1)[0])
        assert span.attributes["db.statement"].startswith("SELECT ") and "worf" not in str(dict(span.attributes))


def test_home_queries_are_children_of_the_journals_custom_span(client, spans):
    server, queries, found = request_spans(spans, client.get("/api/activities/home"))
    (custom,) = [span for span in found if span.name == "home-activites-mock-data"]
    assert custom.parent.span_id == server.context.span_id
    assert [span.parent.span_id for span in queries] == [custom.context.span_id] * 2


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/activities/search", None),
    ("POST", "/api/activities", {"message": SECRET, "ttl": "1-day"}),
    ("POST", "/api/activities/248959df-3079-4947-b847-9e0892d1bab4/reply", {"message": SECRET}),
    ("POST", "/api/messages", {"user_receiver_handle": "coco", "message": SECRET}),
])
def test_no_value_reaches_a_statements_span(client, spans, method, path, body):
    response = client.open(path, method=method, json=body, query_string={"term": SECRET})
    assert response.status_code == 200
    _, queries, _ = request_spans(spans, response)
    assert queries and any(span.attributes["db.statement"].split()[0] in ("INSERT", "SELECT") for span in queries)
    for span in queries:
        assert SECRET not in str(dict(span.attributes)) and "1-day" not in span.attributes["db.statement"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_slow_query_is_a_long_db_span_under_the_request(client, spans, database_url):
    """A writer holding the table's lock makes the feed's query wait: the wait is the DB span."""
    with engine(database_url) as db, db.connect() as blocker:
        blocker.execute(text("LOCK TABLE activities IN ACCESS EXCLUSIVE MODE"))
        answers = []
        request = threading.Thread(target=lambda: answers.append(client.get("/api/activities/@worf")))
        request.start()
        time.sleep(1.0)
        blocker.rollback()
        request.join(10)
    (response,) = answers
    assert response.status_code == 200
    _, queries, _ = request_spans(spans, response)
    slow = max(queries, key=lambda span: span.end_time - span.start_time)
    assert (slow.end_time - slow.start_time) / 1e9 >= 0.9
    assert slow.attributes["db.statement"].startswith("SELECT activities.uuid")
