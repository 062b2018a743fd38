"""The audit hook that the fault cases rely on (tests/audit) records what a request thread sends,
and only that: a connection, a datagram and a name lookup made while a request is handled are
each recorded with the request's thread, and a background thread's connection is not."""
import itertools
import socket
import threading
from pathlib import Path

import pytest
import requests
from flask import request

from cruddur import create_app
from tests.reliability.conftest import audited

pytestmark = pytest.mark.live
REPO = Path(__file__).resolve().parents[2]


def sending_app():
    """Cruddur plus one test-only route that does on its own thread what telemetry must not."""
    app = create_app()

    @app.get("/send")
    def send():
        port = int(request.args["port"])
        with socket.socket() as sock:
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"datagram", ("127.0.0.1", port))
        socket.getaddrinfo("localhost", port)
        # A background thread has no request context: its connection is telemetry's kind of send.
        background = threading.Thread(target=lambda: socket.create_connection(("127.0.0.1", port), timeout=5).close())
        background.start()
        background.join()
        return {"thread": threading.current_thread().name}

    return app


def test_the_hook_records_each_send_of_a_request_thread_and_nothing_else(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    audit = audited({}, tmp_path, workers=1)
    audit.server.command = ["gunicorn", "--pythonpath", str(REPO), "tests.reliability.test_audit:sending_app()"]
    with listener, audit.server as server:
        requests.get(server.url + "/api/activities/home", timeout=10)
        assert audit.new_records() == []  # the API's own routes send nothing
        answer = requests.get(server.url + "/send", params={"port": port}, timeout=10).json()
        records = audit.new_records()

    # gevent's connect tries again once the socket is writable: the hook may see it twice in a row.
    sends = [record for record, _ in itertools.groupby(records)]
    address = repr(("127.0.0.1", port))
    assert sends == [
        {"event": "socket.connect", "thread": answer["thread"], "kind": "SOCK_STREAM", "address": address},
        {"event": "socket.sendto", "thread": answer["thread"], "kind": "SOCK_DGRAM", "address": address},
        {"event": "socket.getaddrinfo", "thread": answer["thread"], "address": repr(("localhost", port))}]
