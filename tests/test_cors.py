"""CORS: the front end's and backend's own origins are allowed, nothing else is."""
import pytest

from tests.conftest import BACKEND, FRONTEND


def preflight(client, origin, headers="content-type,traceparent,tracestate,if-modified-since"):
    return client.options("/api/activities", headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    })


@pytest.mark.parametrize("origin", [FRONTEND, BACKEND])
def test_allowed_origins_get_cors_headers(client, origin):
    response = client.get("/api/activities/home", headers={"Origin": origin})
    assert response.headers["Access-Control-Allow-Origin"] == origin


def test_preflight_allows_the_tracing_headers_and_methods(client):
    response = preflight(client, FRONTEND)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"content-type", "traceparent", "tracestate", "if-modified-since"}
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"OPTIONS", "GET", "HEAD", "POST"}


def test_preflight_may_be_cached_for_ten_minutes(client):
    assert preflight(client, FRONTEND).headers["Access-Control-Max-Age"] == "600"
    # Only a preflight carries it: an actual response has nothing to cache.
    assert "Access-Control-Max-Age" not in client.get("/api/activities/home", headers={"Origin": FRONTEND}).headers


def test_preflight_refuses_other_headers(client):
    response = preflight(client, FRONTEND, headers="x-evil")
    assert "x-evil" not in response.headers.get("Access-Control-Allow-Headers", "")


@pytest.mark.parametrize("origin", [
    "http://evil.example", "null", "http://localhost:3000.evil.example", "http://localhost:30001",
    "https://localhost:3000", "http://evil-localhost:3000",
])
def test_other_origins_get_no_allow_origin(client, origin):
    assert "Access-Control-Allow-Origin" not in client.get("/api/activities/home", headers={"Origin": origin}).headers
    assert "Access-Control-Allow-Origin" not in preflight(client, origin).headers


def test_unset_urls_allow_no_origin_at_all(make_app):
    client = make_app({"FRONTEND_URL": "", "BACKEND_URL": ""}).test_client()
    for origin in ("null", "None", "http://localhost:3000"):
        assert "Access-Control-Allow-Origin" not in client.get("/api/activities/home", headers={"Origin": origin}).headers


def test_trailing_slash_in_frontend_url_still_matches(make_app):
    client = make_app({"FRONTEND_URL": "https://3000-example.gitpod.io/"}).test_client()
    response = client.get("/api/activities/home", headers={"Origin": "https://3000-example.gitpod.io"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://3000-example.gitpod.io"
