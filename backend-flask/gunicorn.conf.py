"""gunicorn settings for `gunicorn app:app` (read from this folder)."""
import os

# An empty variable (as compose passes an unset one) means the default.
bind = f"0.0.0.0:{os.environ.get('PORT') or 4567}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
timeout = 30
# SIGTERM lets a worker finish its requests and flush telemetry for this long.
graceful_timeout = 10
