"""gunicorn settings for `gunicorn app:app` (read from this folder)."""
import os
import sys

# An empty variable (as compose passes an unset one) means the default.
bind = f"0.0.0.0:{os.environ.get('PORT') or 4567}"
# One worker per core of this project's machines, each with four threads. Measured by
# `make bench` (docs/benchmarks.md) with all four integrations on, on one core under
# `wrk -c8`, medians of 3 rounds: 1 sync worker 459 req/s (2.13 ms CPU a request),
# 2 sync workers 563, 1 gthread worker × 4 threads 578 (1.73 ms), 2 gthread × 4 524.
# gthread keeps connections alive, so a request no longer pays for a connection of its
# own, and a worker waiting on one client serves another.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "gthread"
threads = 4
timeout = 30
# Longer than a load balancer's idle timeout (an ALB's is 60 s), so the client side closes
# idle connections: a request sent just as gunicorn closed its connection would be reset.
keepalive = 75
# SIGTERM lets a worker finish its requests and flush telemetry for this long: each SDK's own
# timeouts bound the flush to 9 s (observability.shutdown), so a busy machine still has room.
# Compose's stop_grace_period (and an orchestrator's stop timeout) must be longer.
graceful_timeout = 20


def on_starting(server):
    """Checks the settings once before any worker is forked: a configuration error stops
    gunicorn with its one line (workers failing side by side made gunicorn print a traceback
    of its own while it halted). The check runs in a child of its own, because the master must
    not import Cruddur: its workers would inherit the modules, and --reload would serve old code."""
    child = os.fork()
    if child == 0:
        code = 0  # any other error is the workers' to report, with its traceback
        try:
            from cruddur.config import ConfigError, load_settings

            try:
                load_settings()
            except ConfigError as error:
                print(f"cruddur: {error}", file=sys.stderr, flush=True)
                code = 3
        finally:
            os._exit(code)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if code:
        sys.exit(code)


def worker_exit(server, worker):
    """As soon as the worker has served its last request: telemetry is flushed within
    graceful_timeout, then the worker's pooled connections close, so PostgreSQL frees their slots."""
    if getattr(worker, "wsgi", None) is not None:  # the app was built (the master never imports it)
        from cruddur import observability

        observability.shutdown()
        worker.wsgi.extensions["cruddur.store"].dispose()
