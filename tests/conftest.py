import pytest

from cruddur import create_app
from tests.processes import Gunicorn

FRONTEND = "http://localhost:3000"
BACKEND = "http://localhost:4567"


@pytest.fixture
def app():
    return create_app({"FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_backend():
    """The real gunicorn process with two workers, shared by the live tests."""
    with Gunicorn({"FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND}) as server:
        yield server
