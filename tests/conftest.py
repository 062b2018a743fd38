import io
import json
import logging
import os
import shutil
import sys

import pytest

from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cruddur import create_app
from cruddur.config import Settings
from cruddur.observability import logs
from cruddur.store import EXTENSION as STORE
from cruddur.store import database_url as store_url, make_engine, migrate
from tests.peers.cloudwatch import REGION, MotoServer
from tests.peers.postgres import PostgresServer, binaries
from tests.processes import Gunicorn

FRONTEND = "http://localhost:3000"
BACKEND = "http://localhost:4567"
AWS_SECRET = "cruddur-test-secret-0f3b9c"
# The tiers (pyproject.toml's markers): the fast one is `-m "not live and not e2e and not reliability"`.
SLOW_TIERS = ("live", "e2e", "reliability")
# Fixtures that start a process (a PostgreSQL server, gunicorn, the load's worker process).
PROCESS_FIXTURES = {"postgres_server", "postgres", "live_backend", "loader"}
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.fork", "os.forkpty"}
_started: list[str] | None = None  # what the running fast-tier test started, while one runs


def _record_processes(event: str, args: tuple) -> None:
    if _started is not None and event in PROCESS_EVENTS:
        _started.append(f"{event} {str(args[1] if event == 'subprocess.Popen' else args[:1])[:200]}")


sys.addaudithook(_record_processes)


def pytest_collection_modifyitems(items):
    """A test that starts a process is `live`: by the fixtures it takes, or by its store's kind.

    Under `-n 2 --dist loadgroup` (`make test`) a file's tests stay on one worker, sharing its
    module's servers and stores, and the browser tests share one build, one backend and one Chromium."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if PROCESS_FIXTURES & set(item.fixturenames) or (callspec and callspec.params.get("database_url") == "postgresql"):
            item.add_marker(pytest.mark.live)
        path = item.path.relative_to(item.session.config.rootpath)
        item.add_marker(pytest.mark.xdist_group("e2e" if path.parts[:2] == ("tests", "e2e") else str(path)))


def _fast(item) -> bool:
    return not any(item.get_closest_marker(tier) for tier in SLOW_TIERS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _starting_no_process(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _starting_no_process(item))


def _starting_no_process(item):
    """The fast tier starts no process: a test outside the slow tiers that starts one fails, naming
    it, so the tier stays what it says (mark the test `live`)."""
    global _started
    if not _fast(item):
        return (yield)
    _started = []
    try:
        result = yield
    finally:
        started, _started = _started, None
    if started:
        raise AssertionError("a test outside the live, e2e and reliability tiers started a process; "
                             "mark it live: " + "; ".join(started))
    return result


def migrate_store(url: str) -> None:
    """Migrates and seeds the store at `url` as the app's first use does, and closes every connection."""
    engine = make_engine(store_url(Settings(database_url=url), ""))
    try:
        with engine.begin() as connection:
            migrate(connection)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """One SQLite file migrated and seeded once; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "cruddur.db"
    migrate_store(f"sqlite:///{path}")
    assert not path.with_name("cruddur.db-wal").exists()  # all of it is in the one file copied
    return path


def migrated_copy(template, path) -> str:
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


# Vendors the process-wide telemetry of the tests' own process must not pick up from the shell.
VENDOR_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "XRAY_EXPORT",
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
        patch.setenv("OTEL_METRICS_EXPORTER", "none")
        create_app()
    # The tests' own calls to servers carry the headers each test gives, not the process's trace.
    RequestsInstrumentor().uninstrument()
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(autouse=True)
def spans(span_exporter):
    """The spans this test's in-process apps ended, in the order they ended."""
    span_exporter.clear()
    return span_exporter


@pytest.fixture
def make_app(request, monkeypatch, tmp_path, migrated_sqlite):
    """Build apps from the environment with `env` on top, as a process would be started with
    it (the SDKs read it themselves), each with a fresh copy of the migrated SQLite file (an empty
    one, that the app migrates and seeds, for a test marked `migrations`) unless `env` names a
    DATABASE_URL; after the test, close their pools. Telemetry is the test process's own (span_exporter)."""
    apps = []
    empty = request.node.get_closest_marker("migrations") is not None

    def make(env=None):
        path = tmp_path / f"cruddur-{len(apps)}.db"
        database = f"sqlite:///{path}" if empty else migrated_copy(migrated_sqlite, path)
        for name, value in {"FRONTEND_URL": FRONTEND, "BACKEND_URL": BACKEND, "DATABASE_URL": database,
                            **(env or {})}.items():
            monkeypatch.setenv(name, value)
        app = create_app()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[STORE].dispose()


@pytest.fixture
def json_lines():
    """What Cruddur's JSON log handler writes while the test runs, each line parsed. (The process's
    own stdout handler dates from the session's start, so capsys and capfd cannot see its lines.)"""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


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
    """A fresh store of each kind, a temporary SQLite file or a new PostgreSQL database: a copy
    of one migrated and seeded once, or empty for a test marked `migrations`."""
    empty = request.node.get_closest_marker("migrations") is not None
    if request.param == "sqlite":
        if empty:
            return f"sqlite:///{tmp_path / 'store.db'}"
        return migrated_copy(request.getfixturevalue("migrated_sqlite"), tmp_path / "store.db")
    server = request.getfixturevalue("postgres_server")
    return server.fresh_database() if empty else server.migrated_database(migrate_store)
