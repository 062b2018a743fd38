"""The app module's contract: importing it starts nothing, and both ways of serving it work."""
import subprocess
import sys

import requests

from tests.processes import BACKEND_DIR, Gunicorn

IMPORT_PROBE = """
import socket, threading
opened = []
real_socket = socket.socket
class RecordingSocket(real_socket):
    def __init__(self, *args, **kwargs):
        opened.append(args)
        super().__init__(*args, **kwargs)
socket.socket = RecordingSocket
import app
print(threading.active_count(), len(opened), type(app.app).__name__)
"""


def test_importing_app_starts_no_thread_and_opens_no_socket():
    result = subprocess.run([sys.executable, "-c", IMPORT_PROBE], cwd=BACKEND_DIR,
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["1", "0", "Flask"]


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
