import json
import os

import pytest

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cruddur import create_app
from cruddur.store import EXTENSION as STORE
from tests.peers.cloudwatch import REGION, MotoServer
from tests.peers.postgres import PostgresServer, binaries
from tests.processes import Gunicorn

FRONTEND = "http://localhost:3000"
BACKEND = "http://localhost:4567"
AWS_SECRET = "cruddur-test-secret-0f3b9c"


# Vendors the process-wide telemetry of the tests' own process must not pick up from the shell.
VENDOR_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "XRAY_EXPORT",
                    "AWS_XRAY_DAEMON_ADDRESS", "CLOUDWATCH_LOG_GROUP", "CLOUDWATCH_LOGS_EXPORT", "ROLLBAR_ACCESS_TOKEN")


@pytest.fixture(scope="session", autouse=True)
def span_exporter():
    """The test process's telemetry, set up by its first app as in any process (Cruddur's defaults,
    no vendor, no exporter), with an in-memory exporter on the global tracer provider: every
    in-process test's spans, as opentelemetry-python-contrib's tests see them. Apps built later
    share it; a test that needs a vendor on runs the app in a process of its own."""
    with pytest.MonkeyPatch.context() as patch:
        for name in VENDOR_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("OTEL_TRACES_EXPORTER", "none")
        create_app()
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(autouse=True)
def spans(span_exporter):
    """The spans this test's in-process apps ended, in the order they ended."""
    span_exporter.clear()
    return span_exporter


@pytest.fixture
def make_app(monkeypatch, tmp_path):
    """Build apps from the environment with `env` on top, as a process would be started with
    it, each with a fresh SQLite file unless `env` names a DATABASE_URL; after the test, close
    their pools. Process-wide telemetry is the test process's own (span_exporter)."""
    apps = []

    def make(env=None):
        database = f"sqlite:///{tmp_path / f'cruddur-{len(apps)}.db'}"
        for name, value in {"FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND, "DATABASE_URL": database,
                            **(env or {})}.items():
            monkeypatch.setenv(name, value)
        app = create_app()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[STORE].dispose()


def startup_detail(output: str, integration: str) -> str:
    """What the start-up line of `integration` says, from a process's JSON output (the last app's)."""
    line = [json.loads(line) for line in output.splitlines()
            if line.startswith("{") and json.loads(line).get("integration") == integration and "detail" in line][-1]
    return f"{'on' if line['enabled'] else 'off'}: {line['detail']}"


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


@pytest.fixture(scope="module")
def moto_server():
    with MotoServer() as server:
        yield server


@pytest.fixture
def moto(moto_server):
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws_env(monkeypatch, tmp_path, moto):
    """boto3 reads os.environ itself: fake keys, a region, moto as endpoint, and nothing from ~/.aws."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "CLOUDWATCH_LOG_GROUP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    # Without keys boto3 would ask the instance metadata service, which is not on loopback.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto.url)
    return monkeypatch


def need_postgres() -> None:
    """In CI a missing PostgreSQL fails the run; on a developer's machine its tests skip."""
    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server is missing, and CI must run its tests", pytrace=False)
        pytest.skip("PostgreSQL's server is missing (`make test` installs Debian's postgresql)")


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the session; each test takes a fresh database."""
    need_postgres()
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty store of each kind: a temporary SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_server").fresh_database()
