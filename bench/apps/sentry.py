"""The sentry-sdk peer: bare Flask's feed, with the SDK tracing every request to SENTRY_DSN."""
import os

import sentry_sdk

# Before Flask is imported by the app below, as Sentry's Flask guide has it.
sentry_sdk.init(dsn=os.environ["SENTRY_DSN"], traces_sample_rate=1.0)

from bench.apps.bare import app  # noqa: E402,F401  (after init, on purpose; gunicorn serves it)
