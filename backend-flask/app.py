"""Entry point for `flask --app app run` and `gunicorn app:app`."""
import sys

from cruddur import create_app
from cruddur.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # One line, and an exit gunicorn does not retry (its code for a worker that cannot boot).
    print(f"cruddur: {error}", file=sys.stderr)
    sys.exit(3)
