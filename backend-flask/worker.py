"""gunicorn's gevent worker (gunicorn.conf.py's worker_class), fair between connections, and on
SIGTERM quick to let go of them. A module of its own: gunicorn's master imports it, never Cruddur."""
import json
import os
import queue
from contextlib import contextmanager

import gevent
from gevent import monkey
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

# The batch processors' export runs on the worker's loop, and a request that comes meanwhile waits
# for it: encoding takes about 50 µs a span. Every 100 ms instead of every 5 s (spans) or 1 s (log
# records), a batch holds what 100 ms brought, so few requests make short exports; under load each
# export still takes up to a full batch (512) of what is queued, so the processor keeps up.
BATCH_SCHEDULE_DELAYS_MS = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_BLRP_SCHEDULE_DELAY": "100"}

# On SIGTERM, what a request may still take before the worker cuts it: its flush (14 s at most) then
# fits in graceful_timeout (25 s), whatever slow clients are still connected.
DRAIN_S = 8


def write_json_error(sock, status: int, reason: str, message: str) -> None:
    """gunicorn's answer to a request it refuses before the app sees it (a request line over 4094
    bytes, a header over 8190, broken HTTP) in the API's shape, `["uri_too_long"]`, not an HTML page.
    gunicorn logs the `message` itself."""
    body = json.dumps([reason.lower().replace(" ", "_")]).encode()
    head = f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    util.write_nonblock(sock, f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)


class Worker(GeventWorker):
    """gunicorn's gevent worker, fair between connections, and on SIGTERM quick to let go of them.

    A greenlet runs until it waits: a keep-alive client whose next request is already there would
    be served again and again while the other connections wait (all four integrations on, `wrk -c8`,
    one core: p99 1.2 s without the wait, 0.18 s with it), so after each request the worker waits
    until the loop has run every other connection that is ready.
    """

    def patch(self):
        super().patch()
        # gevent's Queue lacks the standard one's all_tasks_done, which watchtower's flush and close
        # wait on; the standard Queue takes its locks from the patched threading, so it is cooperative.
        queue.Queue = monkey.get_original("queue", "Queue")
        util.write_error = write_json_error  # what gunicorn's handle_error answers with

    def init_process(self):
        self.connections, self.quitting = set(), False
        self.waiting = {}  # connection greenlet -> its timeout, while it waits for a request
        for name, delay_ms in BATCH_SCHEDULE_DELAYS_MS.items():
            if not os.environ.get(name):  # the user's own value wins
                os.environ[name] = delay_ms
        super().init_process()

    def handle(self, listener, client, addr):
        self.connections.add(gevent.getcurrent())
        try:
            super().handle(listener, client, addr)
        finally:
            self.connections.discard(gevent.getcurrent())

    def handle_request(self, listener_name, req, sock, addr):
        super().handle_request(listener_name, req, sock, addr)
        gevent.idle()

    @contextmanager
    def timeout_ctx(self):
        """gunicorn waits for each request's headers in this: an idle or slow client's wait ends
        when it expires (keepalive), or at once when the worker is stopping."""
        timeout = gevent.Timeout(self.cfg.keepalive if self.alive else 0, False)
        self.waiting[gevent.getcurrent()] = timeout
        try:
            with timeout:
                yield
        finally:
            del self.waiting[gevent.getcurrent()]

    def handle_quit(self, sig, frame):
        # Ctrl-C signals the worker and its master, which passes SIGQUIT on: a second quit would
        # throw its SystemExit into the first one's exit (worker_exit's flush) and cut it short.
        if not self.quitting:
            self.quitting = True
            super().handle_quit(sig, frame)

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        gevent.spawn(self.let_go)  # out of the signal handler, as gunicorn's handle_quit does

    def let_go(self):
        for greenlet, timeout in list(self.waiting.items()):
            greenlet.kill(timeout, block=False)  # ends the wait as its own expiry would
        gevent.sleep(DRAIN_S)
        gevent.killall(list(self.connections), block=False)
