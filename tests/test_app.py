"""The app module's contract: importing it builds the app and sends nothing, and both ways of serving it work."""
import subprocess
import sys

import pytest
import requests

from tests.processes import BACKEND_DIR, Gunicorn

pytestmark = pytest.mark.live  # each test starts Python, flask run or gunicorn

# Counts connections and datagrams: urllib3 makes (and closes) a throwaway socket at
# import to see whether IPv6 works, which sends nothing.
IMPORT_PROBE = """
import socket, threading
sent = []
for method in ("connect", "connect_ex", "sendto", "sendall", "send"):
    real = getattr(socket.socket, method)
    def recording(self, *args, _real=real, _name=method):
        sent.append((_name, args))
        return _real(self, *args)
    setattr(socket.socket, method, recording)
import app
print("probe", *sorted(thread.name for thread in threading.enumerate()), len(sent), type(app.app).__name__)
"""


def test_importing_app_starts_only_the_sdks_span_and_metric_threads_and_sends_nothing():
    """The process's telemetry is set up with its first app: the threads are OpenTelemetry's batch
    span processor and periodic metric reader (the console's, with no account), which send nothing
    until spans end or the interval is up."""
    result = subprocess.run([sys.executable, "-c", IMPORT_PROBE], cwd=BACKEND_DIR, env={
        "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60, check=True)
    # The probe's line; the console's metric lines follow it, printed at exit.
    (probe,) = [line for line in result.stdout.splitlines() if line.startswith("probe ")]
    assert probe.split() == ["probe", "MainThread", "OtelBatchSpanRecordProcessor", "OtelPeriodicExportingMetricReader",
                             "0", "Flask"]


def test_a_malformed_xray_daemon_address_turns_xray_off_and_the_app_still_imports():
    """The X-Ray SDK parses the address as it is imported, and raised there: no app, a traceback."""
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=BACKEND_DIR, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "AWS_XRAY_DAEMON_ADDRESS": "xray-daemon"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "xray: off (AWS_XRAY_DAEMON_ADDRESS is 'xray-daemon': use host:port (e.g. xray-daemon:2000))" in result.stdout


def test_flask_run_serves_for_development_without_the_debugger():
    with Gunicorn(command=["flask", "--app", "app", "run"]) as server:
        assert requests.get(f"{server.url}/api/activities/home", timeout=5).status_code == 200
        # The Werkzeug debugger would answer its console here; Cruddur answers its JSON 404.
        console = requests.get(f"{server.url}/console", timeout=5)
        assert (console.status_code, console.json()) == (404, ["not_found"])
    assert "Debugger is active" not in server.output


def test_flask_debug_cannot_turn_the_debugger_on_under_gunicorn():
    with Gunicorn({"FLASK_DEBUG": "1"}) as server:
        console = requests.get(f"{server.url}/console", timeout=5)
        assert (console.status_code, console.json()) == (404, ["not_found"])
