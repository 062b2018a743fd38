import pytest

from cruddur import create_app
from cruddur.observability import TELEMETRY
from tests.processes import Gunicorn

FRONTEND = "http://localhost:3000"
BACKEND = "http://localhost:4567"


@pytest.fixture
def make_app():
    """Build apps like `create_app`, and flush and stop their telemetry after the test."""
    apps = []

    def make(overrides=None):
        app = create_app({"FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND, **(overrides or {})})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[TELEMETRY].shutdown()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_backend():
    """The real gunicorn process with two workers, shared by the live tests."""
    with Gunicorn({"FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND}) as server:
        yield server
