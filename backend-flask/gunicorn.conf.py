"""gunicorn settings for `gunicorn app:app` (read from this folder)."""
import gc
import os
import sys

# An empty variable (as compose passes an unset one) means the default.
bind = f"0.0.0.0:{os.environ.get('PORT') or 4567}"
# One worker per core of this project's machines, each serving its connections as greenlets
# (gevent), so a client that sends its request slowly holds a greenlet, not one of a few threads:
# slow clients cannot take the API down (README, "Production"). `make bench` compares it with
# the gthread worker it replaced (docs/benchmarks.md).
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# The most connections a worker holds; past them it accepts no more until one ends, and new ones
# wait in the listen queue for either worker. Under the 1024 open files a container gets by default.
worker_connections = 500
timeout = 30
# Longer than a load balancer's idle timeout (an ALB's is 60 s), so the client side closes
# idle connections: a request sent just as gunicorn closed its connection would be reset.
# The gevent worker also closes a connection whose request's headers take longer to arrive.
keepalive = 75
# SIGTERM lets a worker finish its requests and flush telemetry for this long: the worker cuts its
# requests after 8 s (worker.py), and each SDK's own timeouts bound the flush to 14 s
# (observability.shutdown), so a busy machine still has room.
# Compose's stop_grace_period (and an orchestrator's stop timeout) must be longer.
graceful_timeout = 25
worker_class = "worker.Worker"  # gunicorn's gevent worker, made fair (worker.py)


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


def post_worker_init(worker):
    """The worker has loaded the app: what is alive now (the modules, the SDKs, the app) lives as
    long as the worker, so the garbage collector stops scanning it. Under load a full collection
    otherwise scanned it every few seconds and held the worker about 100 ms each time."""
    gc.collect()  # what is garbage already is freed, not kept forever
    gc.freeze()


def worker_exit(server, worker):
    """As soon as the worker has served its last request: telemetry is flushed within
    graceful_timeout, then the worker's pooled connections close, so PostgreSQL frees their slots."""
    if getattr(worker, "wsgi", None) is not None:  # the app was built (the master never imports it)
        from cruddur import observability

        observability.shutdown()
        worker.wsgi.extensions["cruddur.store"].dispose()
