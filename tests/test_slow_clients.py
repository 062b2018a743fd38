"""Slow clients (slowloris) against the real gunicorn, as gunicorn.conf.py starts it: 64 connections
that send their request a byte at a time hold no worker, every other request keeps its own trace,
and nothing is left held once they leave or when gunicorn stops."""
import random
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import migrated_copy
from tests.peers.otlp import OtlpReceiver
from tests.processes import Gunicorn

pytestmark = [pytest.mark.live, pytest.mark.xdist_group("slow-clients")]
SLOW = 64
CALLERS = 16
# Far above any stall of a busy machine: an answer stuck behind the slow clients would take forever.
ANSWER_S = 10
PADDING = 400  # the body's whitespace, trickled a byte at a time
SERVER_SPAN = re.compile(r"^span \S+ \S+ kind=SERVER trace_id=(\w+) span_id=\w+ parent_id=(\w+) ", re.M)


def traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = f"{random.getrandbits(128):032x}", f"{random.getrandbits(64):016x}"
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-01"


class SlowClients:
    """Half stalled in their headers, half in a POST's body, each sending one more byte every 0.2 s."""

    def __init__(self, port: int):
        self.bodies: dict[socket.socket, tuple[str, str, bytes]] = {}  # trace id, parent id, the rest
        self.headers: list[socket.socket] = []
        for number in range(SLOW // 2):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /api/activities/home HTTP/1.1\r\nHost: cruddur\r\nX-Slow: ")
            self.headers.append(sock)
            trace_id, parent_id, header = traceparent()
            body = b'{' + b" " * PADDING + f'"message": "slow {number}", "ttl": "1-day"}}'.encode()
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(f"POST /api/activities HTTP/1.1\r\nHost: cruddur\r\ntraceparent: {header}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:2])
            self.bodies[sock] = (trace_id, parent_id, body[2:])
        self.stopped = threading.Event()
        self.trickler = threading.Thread(target=self.trickle)
        self.trickler.start()

    def trickle(self) -> None:
        while not self.stopped.wait(0.2):
            try:
                for sock in self.headers:
                    sock.sendall(b"x")
                for sock, (trace_id, parent_id, rest) in self.bodies.items():
                    sock.sendall(rest[:1])
                    self.bodies[sock] = (trace_id, parent_id, rest[1:])
            except OSError:  # closed by the server (still_held says so), or stopping
                return

    def still_held(self) -> bool:
        """Every slow connection is still open, and unanswered."""
        for sock in [*self.headers, *self.bodies]:
            sock.setblocking(False)
            try:
                if sock.recv(1) is not None:  # an answer, or b"": closed by the server
                    return False
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        return True

    def stop(self) -> None:
        self.stopped.set()
        self.trickler.join()

    def finish(self) -> list[tuple[str, str, requests.Response]]:
        """The POSTs' bodies sent whole, and each answer with the trace it was sent in; the stalled
        headers' connections closed."""
        self.stop()
        for sock in self.headers:
            sock.close()
        answers = []
        for sock, (trace_id, parent_id, rest) in self.bodies.items():
            sock.sendall(rest)
            answers.append((trace_id, parent_id, read_answer(sock)))
            sock.close()
        return answers

    def close(self) -> None:
        self.stop()
        for sock in [*self.headers, *self.bodies]:
            sock.close()


def read_answer(sock: socket.socket) -> requests.Response:
    sock.settimeout(ANSWER_S)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096) or pytest.fail(f"the connection closed after {head!r}")
    status_line, *header_lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    response = requests.Response()
    response.status_code = int(status_line.split()[1])
    response.headers.update(line.split(": ", 1) for line in header_lines)
    return response


def call(url: str) -> tuple[str, str, requests.Response]:
    trace_id, parent_id, header = traceparent()
    return trace_id, parent_id, requests.get(f"{url}/api/activities/home", timeout=ANSWER_S,
                                             headers={"traceparent": header, "Connection": "close"})


def server_connections(port: int) -> int:
    """The server's TCP connections on its port that are not closed yet (TIME_WAIT is the kernel's)."""
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if int(local.split(":")[1], 16) == port and state not in ("0A", "06"):  # LISTEN, TIME_WAIT
                found += 1
    return found


@pytest.fixture
def server_env(migrated_sqlite, tmp_path):
    """A migrated store: the slow clients' test is about the server, not the first requests' migration,
    which two workers starting on a loaded machine may make them wait for."""
    return {"DATABASE_URL": migrated_copy(migrated_sqlite, tmp_path / "cruddur.db")}


def busy_client(url: str, requests_each: int) -> list[int]:
    with requests.Session() as session:  # keep-alive: the connection has its next request ready at once
        return [session.get(f"{url}/api/activities/home", timeout=ANSWER_S).status_code
                for _ in range(requests_each)]


def no_worker_killed(output: str) -> None:
    for sign in ("SIGKILL", "WORKER TIMEOUT", "Worker graceful timeout", "Traceback"):
        assert sign not in output, output


def test_slow_clients_hold_no_worker_and_every_request_keeps_its_own_trace(server_env):
    with Gunicorn(server_env) as server:
        slow = SlowClients(server.port)
        try:
            time.sleep(1)  # each slow client has sent more of its request by now
            with ThreadPoolExecutor(CALLERS) as pool:
                callers = list(pool.map(call, [server.url] * CALLERS))
            assert slow.still_held()
        finally:
            posts = slow.finish()
        for trace_id, _, answer in callers + posts:
            assert answer.status_code == 200
            assert answer.headers["X-Trace-Id"] == trace_id
        deadline = time.monotonic() + ANSWER_S
        while server_connections(server.port):
            assert time.monotonic() < deadline, "connections still held after the slow clients left"
            time.sleep(0.1)
    # Stopped: the workers' spans are flushed. Each request's SERVER span is a child of its caller's.
    spans = dict(SERVER_SPAN.findall(server.output))
    assert {trace_id: spans.get(trace_id) for trace_id, _, _ in callers + posts} == \
        {trace_id: parent_id for trace_id, parent_id, _ in callers + posts}
    no_worker_killed(server.output)


def test_sigterm_with_slow_clients_still_connected_flushes_in_time(server_env):
    """The workers let go of the slow clients at once or after worker.py's DRAIN_S, so their flush fits
    in graceful_timeout: the callers' spans, held until then (a minute's batch delay), are printed at exit,
    and no worker is killed."""
    server = Gunicorn({**server_env, "OTEL_BSP_SCHEDULE_DELAY": "60000"}).start()
    slow = SlowClients(server.port)
    try:
        time.sleep(1)
        with ThreadPoolExecutor(4) as pool:
            callers = list(pool.map(call, [server.url] * 4))
        output = server.stop(timeout=30)
    finally:
        slow.close()
    spans = dict(SERVER_SPAN.findall(output))
    assert all(spans.get(trace_id) == parent_id for trace_id, parent_id, _ in callers), output
    no_worker_killed(output)


def test_a_fully_busy_worker_still_exports_every_span(server_env):
    """Under gevent the batch span processor exports in turn with the worker's connections: one batch
    for each round of their requests. Batches of 64 spans fell behind 32 busy connections (each
    request makes 4 spans) until the queue dropped spans; the SDK's 512 keep up."""
    clients, requests_each = 32, 64
    with OtlpReceiver() as receiver:
        server = Gunicorn({**server_env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, workers=1).start()
        try:
            with ThreadPoolExecutor(clients) as pool:
                statuses = [status for answers in pool.map(busy_client, [server.url] * clients,
                                                           [requests_each] * clients) for status in answers]
        finally:
            output = server.stop(timeout=30)
        assert statuses == [200] * clients * requests_each
        served = [span for span in receiver.spans() if span["kind"] == "SERVER"]
        assert len(served) == clients * requests_each, f"{len(served)} of {clients * requests_each} server spans"
    no_worker_killed(output)


def home_spans(spans: list[dict]) -> list[dict]:
    return [span for span in spans if span["name"] == "GET /api/activities/home"]


def test_the_worker_sends_a_batch_every_100_ms(server_env):
    """The batch export runs on the worker's loop, so the worker sends every 100 ms: few requests make
    short exports. A request right after an export is sent 100 ms later (the SDK's 5 s: 5 s later)."""
    with OtlpReceiver() as receiver:
        server = Gunicorn({**server_env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, workers=1).start()
        try:
            for sent in (1, 2):
                requests.get(f"{server.url}/api/activities/home", timeout=ANSWER_S).raise_for_status()
                receiver.wait_for(lambda spans: len(home_spans(spans)) == sent, timeout=2 if sent == 2 else 10)
        finally:
            output = server.stop(timeout=30)
    no_worker_killed(output)


def test_a_schedule_delay_the_user_sets_wins(server_env):
    with OtlpReceiver() as receiver:
        server = Gunicorn({**server_env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                           "OTEL_BSP_SCHEDULE_DELAY": "60000"}, workers=1).start()
        try:
            requests.get(f"{server.url}/api/activities/home", timeout=ANSWER_S).raise_for_status()
            time.sleep(2)  # twenty of the worker's own delays
            assert home_spans(receiver.spans()) == []
        finally:
            output = server.stop(timeout=30)
        assert len(home_spans(receiver.spans())) == 1  # sent by the exit's flush
    no_worker_killed(output)
