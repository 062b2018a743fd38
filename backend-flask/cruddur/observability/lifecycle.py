"""What every integration shares: its status, its bounded queue, its delivery count, its flush at exit."""
import atexit
import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.sdk.trace.export import SpanExportResult

# Within gunicorn's graceful_timeout (10 s), after a worker notices SIGTERM and ends its requests.
SHUTDOWN_TIMEOUT_S = 7
# After its timeout, a stopper gets this long to log what it could not deliver.
REPORT_MARGIN_S = 0.5
# A drain's thread wakes this often: waking it per item would cost what handing the item on does.
DRAIN_POLL_S = 0.05

logger = logging.getLogger("cruddur.observability")


@dataclass(frozen=True)
class Status:
    """Whether an integration is on, and a reason a person can act on (never a secret)."""

    enabled: bool
    detail: str


class Telemetry:
    """Runs each starter once per process (gunicorn's post_worker_init, or the first request),
    never at build. At exit the drains, which must not wait on the network, hand their records
    on; then each `stopper(timeout_s)` flushes and logs what it could not deliver, side by side:
    a hanging service costs its own timeout, not everyone's."""

    def __init__(self) -> None:
        self.starters: list[Callable[[], None]] = []
        self.drains: list[Callable[[], None]] = []
        self.stoppers: list[Callable[[float], None]] = []
        self._lock = threading.Lock()
        self.started = False

    def start(self) -> None:
        with self._lock:
            if self.started:
                return
            for starter in self.starters:
                starter()
            atexit.register(self.shutdown)
            # Set last: a request that finds it set must find everything started (gthread
            # workers serve their first requests side by side).
            self.started = True

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
        atexit.unregister(self.shutdown)
        with self._lock:
            drains, self.drains = self.drains, []
            stoppers, self.stoppers = self.stoppers, []
        deadline = time.monotonic() + timeout_s + REPORT_MARGIN_S
        for drain in drains:
            _log_failure(drain)
        # Daemon threads: one still waiting on a hung service at the deadline is left behind.
        threads = [threading.Thread(target=_log_failure, args=(stopper, timeout_s), daemon=True)
                   for stopper in stoppers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class Drain:
    """A bounded buffer that its own thread empties into `handle`, oldest first. `put` never
    blocks: when full, the oldest item makes room, counted."""

    def __init__(self, handle: Callable[[object], None], capacity: int, name: str):
        self.items, self.handle, self.dropped = collections.deque(maxlen=capacity), handle, 0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopping = threading.Event()

    def put(self, item) -> None:
        if len(self.items) == self.items.maxlen:
            self.dropped += 1
        self.items.append(item)

    def _run(self) -> None:
        while True:
            stopping = self._stopping.wait(DRAIN_POLL_S)
            while self.items:
                self.handle(self.items.popleft())
            if stopping:
                return

    def stop(self, timeout_s: float) -> int:
        """Hands on what is buffered within `timeout_s`; returns how many items were not."""
        self._stopping.set()
        if self.thread.ident is None:
            self.thread.start()  # never started (nothing served): it hands on what there is, then ends
        self.thread.join(timeout_s)
        return len(self.items) + self.thread.is_alive()


class CountingExporter:
    """A span or log exporter that counts the items of the batches its endpoint took (one batch at
    a time, so no lock), passing on only what `keep` keeps. Items its answers reject (a partial
    success, added to `rejected` by whoever reads the answer) do not count as delivered."""

    def __init__(self, exporter, keep=None):
        self.exporter, self.keep = exporter, keep
        self.taken = self.rejected = 0

    @property
    def delivered(self) -> int:
        return self.taken - self.rejected

    def export(self, batch):
        kept = list(filter(self.keep, batch)) if self.keep else batch
        result = self.exporter.export(kept) if kept else SpanExportResult.SUCCESS
        if result.name == "SUCCESS":
            self.taken += len(batch)
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()


def tell_undelivered(integration: str, missing: int, total: int, what: str, why: str, **fields) -> None:
    """The one line at exit saying what an integration could not deliver, when anything."""
    if missing:
        logger.warning("%s: %d of %d %s not delivered%s", integration, missing, total, what, why, extra={
            "fields": {"integration": integration, "not_delivered": missing, "total": total, **fields}})


def finished_within(step: Callable[[], object], timeout_s: float, name: str) -> bool:
    """Runs `step` (an SDK call with no timeout of its own) on a daemon thread for at most
    `timeout_s`: False if it is still running."""
    thread = threading.Thread(target=step, name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return not thread.is_alive()


def _log_failure(step: Callable[..., None], *args) -> None:
    try:
        step(*args)
    except Exception:
        logger.exception("telemetry shutdown step failed")
