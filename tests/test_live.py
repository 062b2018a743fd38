"""The real gunicorn process: a smoke run of every route and a schemathesis run of the spec, and
gunicorn.conf.py's worker hook."""
import gc
import runpy
import weakref

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import FRONTEND
from tests.processes import BACKEND_DIR

pytestmark = pytest.mark.live

SPEC = BACKEND_DIR / "openapi-3.0.yml"
schema = schemathesis.openapi.from_path(SPEC)


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/api/health", None, 200),
    ("GET", "/api/activities/home", None, 200),
    ("GET", "/api/activities/notifications", None, 200),
    ("GET", "/api/activities/@andrewbrown", None, 200),
    ("GET", "/api/activities/search?term=cloud", None, 200),
    ("GET", "/api/activities/search", None, 422),
    ("POST", "/api/activities", {"message": "live crud", "ttl": "1-hour"}, 200),
    ("POST", "/api/activities", {}, 422),
    ("GET", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee", None, 200),
    ("POST", "/api/activities/68f126b0-1ceb-4a33-88be-d90fa7109eee/reply", {"message": "live reply"}, 200),
    ("GET", "/api/message_groups", None, 200),
    ("GET", "/api/messages/@worf", None, 200),
    ("POST", "/api/messages", {"user_receiver_handle": "worf", "message": "live message"}, 200),
    ("GET", "/api/nope", None, 404),
])
def test_every_route_answers_under_gunicorn(live_backend, method, path, body, status):
    response = requests.request(method, live_backend.url + path, json=body, timeout=10,
                                headers={"Origin": FRONTEND})
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    response.json()


def test_oversized_body_is_413_under_gunicorn(live_backend):
    response = requests.post(live_backend.url + "/api/activities", timeout=10,
                             data=b'{"message": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                             headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (413, ["request_entity_too_large"])


def test_a_chunked_oversized_body_is_413_under_gunicorn(live_backend):
    chunks = iter([b'{"message": "', *[b"x" * 65536] * 32, b'"}'])  # requests sends an iterator chunked
    response = requests.post(live_backend.url + "/api/activities", data=chunks, timeout=10,
                             headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (413, ["request_entity_too_large"])


def test_error_bodies_never_carry_a_traceback(live_backend):
    response = requests.post(live_backend.url + "/api/messages", data="{", timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Traceback" not in response.text and "werkzeug" not in response.text.lower()


@pytest.mark.generated
@schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_no_schema_break(case, live_backend):
    case.call_and_validate(base_url=live_backend.url)


class Cycle:
    def __init__(self):
        self.itself = self


def test_a_worker_frees_its_garbage_then_freezes_what_it_loaded():
    post_worker_init = runpy.run_path(str(BACKEND_DIR / "gunicorn.conf.py"))["post_worker_init"]
    gc.disable()  # only the hook's own collection may free the cycle
    try:
        garbage = weakref.ref(Cycle())
        frozen_before = gc.get_freeze_count()
        post_worker_init(None)
        assert garbage() is None
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()
        gc.enable()
